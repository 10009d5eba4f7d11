using System.Collections.Concurrent;

namespace Trellis.Controller.Identity;

/// <summary>
/// The newest certificate expiry issued per identity since start, so `trellis check` can tell
/// whether every pod's proxy holds a valid identity.
/// </summary>
public sealed class IdentityLedger
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _expiry = new(StringComparer.Ordinal);

    /// <summary>Records a certificate issued to <paramref name="identity"/>.</summary>
    public void Record(string identity, DateTimeOffset notAfter) =>
        _expiry.AddOrUpdate(identity, notAfter, (_, existing) => existing > notAfter ? existing : notAfter);

    /// <summary>The newest expiry for <paramref name="identity"/>, or null.</summary>
    public DateTimeOffset? ExpiryOf(string identity) => _expiry.TryGetValue(identity, out var expiry) ? expiry : null;
}
