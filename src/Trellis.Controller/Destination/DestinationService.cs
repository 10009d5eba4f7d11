using Grpc.Core;
using Trellis.Api.Destination.V1;
using Trellis.Controller.Registry;

namespace Trellis.Controller.Destination;

/// <summary>
/// The destination API: one long-lived stream per destination a proxy sends to. Sends the full
/// set first, then only deltas as the registry changes, until the proxy hangs up.
/// </summary>
public sealed class DestinationService : Api.Destination.V1.Destination.DestinationBase
{
    private readonly IWorkloadRegistry _registry;
    private readonly string _clusterDomain;
    private readonly CancellationToken _stopping;
    private readonly TimeProvider _time;

    /// <summary>Creates the service over <paramref name="registry"/>; streams end when <paramref name="lifetime"/> stops; <paramref name="time"/> times the warm-up.</summary>
    public DestinationService(IWorkloadRegistry registry, ControllerOptions options, IHostApplicationLifetime lifetime, TimeProvider time)
    {
        _time = time;
        _registry = registry;
        _clusterDomain = options.ClusterDomain;
        _stopping = lifetime.ApplicationStopping;
    }

    /// <inheritdoc/>
    public override async Task Get(GetDestination request, IServerStreamWriter<Update> responseStream, ServerCallContext context)
    {
        if (!DestinationPath.TryParse(request.Path, _clusterDomain, out var path, out var error))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }

        DestinationView? previous = null;
        // Watches never end on their own: without the stopping token, a graceful shutdown would
        // wait for every proxy to hang up (the host's whole shutdown timeout) before exiting.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _stopping);
        var cancellation = linked.Token;
        while (!cancellation.IsCancellationRequested)
        {
            var snapshot = _registry.Snapshot;
            var current = EndpointTranslator.Resolve(snapshot, path!);
            if (previous is null && current.Exists && current.Endpoints.Count == 0 && _registry.WarmUpRemaining is var left && left > TimeSpan.Zero)
            {
                // Just restarted: the service's pods are most likely running and about to register
                // again. "No endpoints" now would make proxies drop the endpoints they still know
                // and fail requests that would succeed; silence keeps them on those until the
                // pods are back or the warm-up ends.
                using var warmUp = new CancellationTokenSource(left, _time);
                using var warm = CancellationTokenSource.CreateLinkedTokenSource(cancellation, warmUp.Token);
                try
                {
                    await _registry.WaitForChangeAsync(snapshot.Version, warm.Token);
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                    return;
                }
                catch (OperationCanceledException)
                {
                    // Warm-up over: the next round says what is true now.
                }

                continue;
            }

            foreach (var update in EndpointTranslator.Diff(previous, current))
            {
                await responseStream.WriteAsync(update, cancellation);
            }

            previous = current;
            try
            {
                await _registry.WaitForChangeAsync(snapshot.Version, cancellation);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
