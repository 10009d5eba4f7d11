namespace Trellis.Controller.Registry;

/// <summary>A pod serves service <see cref="Name"/> (in its own namespace) on <see cref="Port"/>.</summary>
public readonly record struct ServicePortRef(string Name, int Port);
