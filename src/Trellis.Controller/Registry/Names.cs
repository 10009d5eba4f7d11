using System.Text.RegularExpressions;

namespace Trellis.Controller.Registry;

/// <summary>Name rules shared with Kubernetes: namespaces, pods, services and service accounts are DNS labels.</summary>
public static partial class Names
{
    /// <summary>True for an RFC 1123 label: lower-case alphanumerics and '-', 1-63 characters.</summary>
    public static bool IsDnsLabel(string? value) => value is { Length: > 0 and <= 63 } && DnsLabel().IsMatch(value);

    /// <summary>Throws a <see cref="RegistryException"/> naming the field when <paramref name="value"/> is not a DNS label.</summary>
    public static void RequireDnsLabel(string? value, string field)
    {
        if (!IsDnsLabel(value))
        {
            throw new RegistryException(RegistryError.InvalidArgument,
                $"{field} '{value}' is not a DNS label (lower-case letters, digits and '-', at most 63 characters)");
        }
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabel();
}
