using Microsoft.Extensions.Primitives;
using Trellis.Proxy.Identity;

namespace Trellis.Proxy.Tests.Identity;

/// <summary>An identity source that always answers the identity it was given.</summary>
internal sealed class StaticIdentitySource(MeshIdentity identity) : IIdentitySource
{
    public MeshIdentity Current { get; } = identity;

    public IChangeToken GetChangeToken() => new CancellationChangeToken(CancellationToken.None);
}
