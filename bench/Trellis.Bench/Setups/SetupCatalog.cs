namespace Trellis.Bench.Setups;

/// <summary>Setup names as the command line and latest.json spell them.</summary>
internal static class SetupCatalog
{
    public static Setup Create(string name) => name switch
    {
        "direct" => new DirectSetup(),
        "trellis" => new TrellisSetup(),
        "haproxy" => new HaproxySetup(),
        "nginx" => new NginxSetup(),
        "yarp" => new YarpSetup(),
        _ => throw new ArgumentException($"unknown setup '{name}' (known: direct, trellis, haproxy, nginx, yarp)", nameof(name)),
    };
}
