using System.Runtime.Versioning;

// Hosts mode drives Linux network namespaces, veth pairs and iptables; the CLI is Linux-only.
[assembly: SupportedOSPlatform("linux")]
