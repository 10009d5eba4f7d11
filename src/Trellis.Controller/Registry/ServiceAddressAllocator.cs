using System.Net;
using System.Text;

namespace Trellis.Controller.Registry;

/// <summary>
/// Stable service virtual IPs: the first time a service name appears it gets the lowest free
/// address of the service range, and the mapping is persisted (one <c>namespace/name address</c>
/// per line) so a controller restart hands out the same VIPs that pods already have in their
/// hosts files. Offsets 0 and 1 are never used (network address; reserved as in Kubernetes).
/// </summary>
public sealed class ServiceAddressAllocator
{
    private readonly AddressRange _range;
    private readonly string? _path;
    private readonly Dictionary<string, IPAddress> _byName = new(StringComparer.Ordinal);
    private readonly HashSet<uint> _used = [];

    /// <summary>Creates the allocator, loading persisted addresses from <paramref name="path"/> (null: memory only).</summary>
    public ServiceAddressAllocator(AddressRange range, string? path)
    {
        _range = range;
        _path = path;
        if (path is not null && File.Exists(path))
        {
            foreach (var line in File.ReadAllLines(path))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // Entries outside the current range (the range was changed) are dropped and reallocated.
                if (parts.Length == 2 && IPAddress.TryParse(parts[1], out var address) && range.OffsetOf(address) is > 1 and var offset
                    && offset < range.Size && _used.Add((uint)offset))
                {
                    _byName[parts[0]] = address;
                }
            }
        }
    }

    /// <summary>Every known service as (namespace, name, address).</summary>
    public IEnumerable<(string Namespace, string Name, IPAddress Address)> All
    {
        get
        {
            foreach (var (key, address) in _byName)
            {
                var slash = key.IndexOf('/', StringComparison.Ordinal);
                yield return (key[..slash], key[(slash + 1)..], address);
            }
        }
    }

    /// <summary>The service's address, allocating and persisting one when it is new.</summary>
    public IPAddress GetOrAllocate(string ns, string name)
    {
        var key = ns + "/" + name;
        if (_byName.TryGetValue(key, out var existing))
        {
            return existing;
        }

        for (uint offset = 2; offset < _range.Size; offset++)
        {
            if (_used.Add(offset))
            {
                var address = _range.At(offset);
                _byName[key] = address;
                Save();
                return address;
            }
        }

        throw new RegistryException(RegistryError.ResourceExhausted, $"no free service address left in {_range}");
    }

    private void Save()
    {
        if (_path is null)
        {
            return;
        }

        var text = new StringBuilder();
        foreach (var (key, address) in _byName)
        {
            text.Append(key).Append(' ').Append(address).Append('\n');
        }

        State.StateDirectory.WritePublic(_path, Encoding.UTF8.GetBytes(text.ToString()));
    }
}
