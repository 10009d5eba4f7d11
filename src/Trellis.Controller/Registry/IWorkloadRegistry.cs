namespace Trellis.Controller.Registry;

/// <summary>
/// The seam between the control plane's APIs and where workloads come from: the hosts registry
/// (leases from `trellis run`) today, Kubernetes Services/EndpointSlices/Pods later. Readers take
/// an immutable snapshot and wait for the next version; they never see a half-applied change.
/// </summary>
public interface IWorkloadRegistry
{
    /// <summary>The current state.</summary>
    RegistrySnapshot Snapshot { get; }

    /// <summary>
    /// How long the registry may still be missing workloads that existed before it started (hosts
    /// mode: one lease, within which every running pod renews and so registers again); zero after.
    /// </summary>
    TimeSpan WarmUpRemaining { get; }

    /// <summary>Completes once the snapshot's version differs from <paramref name="seenVersion"/>.</summary>
    Task WaitForChangeAsync(long seenVersion, CancellationToken cancellationToken);
}
