using System.Collections.Immutable;
using System.Net;
using Trellis.Controller.Identity;

namespace Trellis.Controller.Registry;

/// <summary>
/// The hosts-mode registry: pods registered by `trellis run` with a lease. A lease not renewed in
/// time expires and takes the pod's endpoints with it (a crashed owner cannot leave stale
/// endpoints behind). State is in memory on purpose: after a controller restart, owners see
/// NOT_FOUND on renew and register again with their address, which rebuilds the same state.
/// Service VIPs are the exception: they are persisted, because pods' hosts files hold them.
/// </summary>
public sealed class HostsRegistry : IWorkloadRegistry, IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Namespace, string Name), WorkloadPod> _pods = [];
    private readonly AddressRange _podRange;
    private readonly ServiceAddressAllocator _services;
    private readonly TimeProvider _time;
    private readonly string _trustDomain;
    private readonly ITimer _sweeper;
    private readonly DateTimeOffset _warmUntil;
    private RegistrySnapshot _snapshot = RegistrySnapshot.Empty;
    private TaskCompletionSource _changed = NewSignal();
    private readonly string? _cursorFile;
    private uint _nextOffset = 2;

    /// <summary>
    /// Creates the registry; expired leases are swept every second by a <paramref name="time"/>
    /// timer. With <paramref name="cursorFile"/>, address allocation continues where the last
    /// run stopped: after a restart this registry knows no pods until they renew, and starting
    /// again from the range's first address would hand a new pod the address of a running one.
    /// </summary>
    public HostsRegistry(AddressRange podRange, ServiceAddressAllocator services, TimeSpan leaseDuration, string trustDomain, TimeProvider time,
        string? cursorFile = null)
    {
        _cursorFile = cursorFile;
        if (cursorFile is not null && File.Exists(cursorFile)
            && uint.TryParse(File.ReadAllText(cursorFile).Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var cursor)
            && cursor >= 2 && cursor < podRange.Size)
        {
            _nextOffset = cursor;
        }

        _podRange = podRange;
        _services = services;
        LeaseDuration = leaseDuration;
        _trustDomain = trustDomain;
        _time = time;
        _warmUntil = time.GetUtcNow() + leaseDuration;
        lock (_gate)
        {
            Publish();
        }

        _sweeper = time.CreateTimer(static state => ((HostsRegistry)state!).RemoveExpired(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>How long a lease lasts without renewal.</summary>
    public TimeSpan LeaseDuration { get; }

    /// <summary>The bridge's own address in the pod range (offset 1): the pods' gateway.</summary>
    public IPAddress Gateway => _podRange.At(1);

    /// <summary>The pod range's prefix length.</summary>
    public int PrefixLength => _podRange.PrefixLength;

    /// <inheritdoc/>
    public RegistrySnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <inheritdoc/>
    public TimeSpan WarmUpRemaining
    {
        get
        {
            var left = _warmUntil - _time.GetUtcNow();
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    /// <inheritdoc/>
    public Task WaitForChangeAsync(long seenVersion, CancellationToken cancellationToken)
    {
        Task signal;
        lock (_gate)
        {
            if (_snapshot.Version != seenVersion)
            {
                return Task.CompletedTask;
            }

            signal = _changed.Task;
        }

        return signal.WaitAsync(cancellationToken);
    }

    /// <summary>Registers (or re-registers) a pod; returns it with its address and lease.</summary>
    /// <exception cref="RegistryException">A name is invalid or the address is taken or outside the range.</exception>
    public WorkloadPod Register(PodRegistration registration)
    {
        Names.RequireDnsLabel(registration.Namespace, "namespace");
        Names.RequireDnsLabel(registration.Name, "pod");
        Names.RequireDnsLabel(registration.Workload, "workload");
        Names.RequireDnsLabel(registration.ServiceAccount, "service account");
        foreach (var service in registration.Services)
        {
            Names.RequireDnsLabel(service.Name, "service");
            RequirePort(service.Port);
        }

        foreach (var port in registration.OpaquePorts)
        {
            RequirePort(port);
        }

        var key = (registration.Namespace, registration.Name);
        lock (_gate)
        {
            _pods.TryGetValue(key, out var existing);
            var address = registration.Address ?? existing?.Address ?? Allocate();
            if (registration.Address is not null)
            {
                var offset = _podRange.OffsetOf(address);
                if (offset <= 1 || offset >= _podRange.Size)
                {
                    throw new RegistryException(RegistryError.InvalidArgument, $"address {address} is not a pod address in {_podRange}");
                }

                foreach (var other in _pods.Values)
                {
                    if (other.Address.Equals(address) && (other.Namespace, other.Name) != key)
                    {
                        throw new RegistryException(RegistryError.AlreadyExists,
                            $"address {address} belongs to pod {other.Name} in namespace {other.Namespace}");
                    }
                }
            }

            foreach (var service in registration.Services)
            {
                _services.GetOrAllocate(registration.Namespace, service.Name);
            }

            var pod = new WorkloadPod(
                registration.Namespace,
                registration.Name,
                registration.Workload,
                registration.ServiceAccount,
                address,
                registration.Ready,
                [.. registration.Services],
                registration.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal, StringComparer.Ordinal),
                [.. registration.OpaquePorts],
                SpiffeId.Format(_trustDomain, registration.Namespace, registration.ServiceAccount),
                _time.GetUtcNow() + LeaseDuration);
            _pods[key] = pod;
            Publish();
            return pod;
        }
    }

    /// <summary>Extends a pod's lease and sets its readiness.</summary>
    /// <exception cref="RegistryException">NotFound when the pod is not registered (any more).</exception>
    public void Renew(string ns, string name, bool ready)
    {
        lock (_gate)
        {
            if (!_pods.TryGetValue((ns, name), out var pod))
            {
                throw new RegistryException(RegistryError.NotFound, $"pod {name} in namespace {ns} is not registered; register it again");
            }

            _pods[(ns, name)] = pod with { Ready = ready, LeaseExpires = _time.GetUtcNow() + LeaseDuration };
            if (pod.Ready != ready)
            {
                Publish();
            }
        }
    }

    /// <summary>Removes a pod at once; false when it was not registered.</summary>
    public bool Deregister(string ns, string name)
    {
        lock (_gate)
        {
            if (!_pods.Remove((ns, name)))
            {
                return false;
            }

            Publish();
            return true;
        }
    }

    /// <summary>Removes every pod whose lease has expired; returns how many.</summary>
    public int RemoveExpired()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var expired = new List<(string, string)>();
            foreach (var (key, pod) in _pods)
            {
                if (pod.LeaseExpires <= now)
                {
                    expired.Add(key);
                }
            }

            foreach (var key in expired)
            {
                _pods.Remove(key);
            }

            if (expired.Count > 0)
            {
                Publish();
            }

            return expired.Count;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _sweeper.Dispose();

    private static void RequirePort(int port)
    {
        if (port is < 1 or > 65535)
        {
            throw new RegistryException(RegistryError.InvalidArgument, $"port {port} is outside 1-65535");
        }
    }

    private IPAddress Allocate()
    {
        var used = new HashSet<IPAddress>();
        foreach (var pod in _pods.Values)
        {
            used.Add(pod.Address);
        }

        // Round-robin from the last allocation, so a just-released address is not reused at once
        // (a peer may still hold connections to it).
        var span = _podRange.Size - 2;
        for (uint i = 0; i < span; i++)
        {
            var offset = 2 + ((_nextOffset - 2 + i) % span);
            var candidate = _podRange.At(offset);
            if (!used.Contains(candidate))
            {
                _nextOffset = offset + 1 >= _podRange.Size ? 2 : offset + 1;
                if (_cursorFile is not null)
                {
                    State.StateDirectory.WritePublic(_cursorFile, System.Text.Encoding.ASCII.GetBytes(
                        _nextOffset.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n"));
                }

                return candidate;
            }
        }

        throw new RegistryException(RegistryError.ResourceExhausted, $"no free pod address left in {_podRange}");
    }

    // Called under _gate: builds the next snapshot and wakes every watcher.
    private void Publish()
    {
        var ports = new Dictionary<(string, string), SortedSet<int>>();
        foreach (var pod in _pods.Values)
        {
            foreach (var service in pod.Services)
            {
                if (!ports.TryGetValue((pod.Namespace, service.Name), out var set))
                {
                    ports[(pod.Namespace, service.Name)] = set = [];
                }

                set.Add(service.Port);
            }
        }

        var services = ImmutableArray.CreateBuilder<ServiceRecord>();
        foreach (var (ns, name, address) in _services.All)
        {
            services.Add(new ServiceRecord(ns, name, address,
                ports.TryGetValue((ns, name), out var set) ? [.. set] : []));
        }

        var pods = ImmutableArray.CreateBuilder<WorkloadPod>(_pods.Count);
        foreach (var pod in _pods.Values)
        {
            pods.Add(pod);
        }

        pods.Sort(static (a, b) => string.CompareOrdinal(a.Namespace + "/" + a.Name, b.Namespace + "/" + b.Name));
        services.Sort(static (a, b) => string.CompareOrdinal(a.Namespace + "/" + a.Name, b.Namespace + "/" + b.Name));
        Volatile.Write(ref _snapshot, new RegistrySnapshot(_snapshot.Version + 1, pods.ToImmutable(), services.ToImmutable()));
        var previous = _changed;
        _changed = NewSignal();
        previous.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
