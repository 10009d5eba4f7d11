using System.Runtime.Versioning;

// The controller's state files use Unix modes; these tests check them.
[assembly: SupportedOSPlatform("linux")]
