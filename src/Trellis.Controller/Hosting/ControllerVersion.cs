using System.Reflection;

namespace Trellis.Controller.Hosting;

/// <summary>The build's informational version, shown by `trellis version` and GetInfo.</summary>
public static class ControllerVersion
{
    /// <summary>The version string.</summary>
    public static string Value { get; } =
        typeof(ControllerVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
}
