using System.Runtime.Versioning;

// The CLI is Linux-only (hosts mode).
[assembly: SupportedOSPlatform("linux")]
