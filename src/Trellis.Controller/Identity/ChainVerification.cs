namespace Trellis.Controller.Identity;

/// <summary>The outcome of <see cref="ChainVerifier.Verify"/>, with the reason when invalid.</summary>
public readonly record struct ChainVerification(bool IsValid, string Reason);
