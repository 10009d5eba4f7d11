using System.Globalization;
using System.Text;
using Trellis.Controller;
using Trellis.Controller.State;

namespace Trellis.Cli.Client;

/// <summary>What `trellis up` chose (port and ranges), saved as <c>key=value</c> lines in the state directory.</summary>
internal sealed record ControllerSettings(int Port, string PodCidr, string ServiceCidr)
{
    public static ControllerSettings Default { get; } = new(ControllerOptions.DefaultPort, "10.42.0.0/16", "10.43.0.0/16");

    public static ControllerSettings Load(StateDirectory state)
    {
        if (!File.Exists(state.ControllerSettings))
        {
            return Default;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(state.ControllerSettings))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[line[..eq]] = line[(eq + 1)..];
            }
        }

        return new ControllerSettings(
            values.TryGetValue("port", out var port) && int.TryParse(port, CultureInfo.InvariantCulture, out var p) ? p : Default.Port,
            values.GetValueOrDefault("pod-cidr", Default.PodCidr),
            values.GetValueOrDefault("service-cidr", Default.ServiceCidr));
    }

    public void Save(StateDirectory state) =>
        StateDirectory.WritePublic(state.ControllerSettings,
            Encoding.UTF8.GetBytes($"port={Port}\npod-cidr={PodCidr}\nservice-cidr={ServiceCidr}\n"));
}
