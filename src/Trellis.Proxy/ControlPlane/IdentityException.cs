namespace Trellis.Proxy.ControlPlane;

/// <summary>Certification failed: a token problem, a refusal by the CA, or a response that does not fit the request.</summary>
public sealed class IdentityException : Exception
{
    public IdentityException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
