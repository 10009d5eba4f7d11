namespace Trellis.Controller.Identity;

/// <summary>A CSR the CA refuses: malformed (<see cref="WrongIdentity"/> false) or naming another identity.</summary>
public sealed class CertificateRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CertificateRequestException(bool wrongIdentity, string message)
        : base(message)
    {
        WrongIdentity = wrongIdentity;
    }

    /// <summary>True when the request is well-formed but asks for an identity the caller did not prove.</summary>
    public bool WrongIdentity { get; }
}
