using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Trellis.Proxy.Identity;

/// <summary>
/// A SPIFFE ID, <c>spiffe://&lt;trust-domain&gt;/&lt;path&gt;</c>, validated by the SPIFFE ID
/// rules: lowercase trust domain of <c>[a-z0-9._-]</c>, path segments of <c>[A-Za-z0-9._-]</c>,
/// no empty, <c>.</c> or <c>..</c> segments, no query, fragment, port or user info. A mesh
/// workload's ID has the path <c>/ns/&lt;namespace&gt;/sa/&lt;serviceaccount&gt;</c>.
/// </summary>
public readonly record struct SpiffeId
{
    /// <summary>The SPIFFE spec's upper bound on an ID's length.</summary>
    public const int MaxLength = 2048;

    private const string Scheme = "spiffe://";
    private const string SubjectAltNameOid = "2.5.29.17";

    private SpiffeId(string value, string trustDomain, string path)
    {
        Value = value;
        TrustDomain = trustDomain;
        Path = path;
    }

    /// <summary>The whole ID, e.g. <c>spiffe://cluster.local/ns/default/sa/web</c>.</summary>
    public string Value { get; }

    public string TrustDomain { get; }

    /// <summary>The path, starting with <c>/</c>, or empty for a trust domain's own ID.</summary>
    public string Path { get; }

    /// <summary>Formats a mesh workload's ID from its trust domain, namespace and service account.</summary>
    /// <exception cref="FormatException">A part holds a character SPIFFE IDs do not allow.</exception>
    public static SpiffeId ForWorkload(string trustDomain, string ns, string serviceAccount) =>
        Parse($"{Scheme}{trustDomain}/ns/{ns}/sa/{serviceAccount}");

    /// <exception cref="FormatException">Not a valid SPIFFE ID; the message says why.</exception>
    public static SpiffeId Parse(string value) =>
        TryParse(value, out var id, out var error) ? id : throw new FormatException($"invalid SPIFFE ID '{value}': {error}");

    public static bool TryParse([NotNullWhen(true)] string? value, out SpiffeId id) => TryParse(value, out id, out _);

    public static bool TryParse([NotNullWhen(true)] string? value, out SpiffeId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        error = Validate(value);
        if (error is not null)
        {
            return false;
        }

        var rest = value.AsSpan(Scheme.Length);
        var slash = rest.IndexOf('/');
        var trustDomain = slash < 0 ? rest.ToString() : rest[..slash].ToString();
        var path = slash < 0 ? string.Empty : rest[slash..].ToString();
        id = new SpiffeId(value!, trustDomain, path);
        return true;
    }

    /// <summary>Reads a mesh workload ID's namespace and service account.</summary>
    /// <returns>False when the path is not <c>/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c>.</returns>
    public bool TryGetWorkload([NotNullWhen(true)] out string? ns, [NotNullWhen(true)] out string? serviceAccount)
    {
        ns = null;
        serviceAccount = null;
        var segments = (Path ?? string.Empty).Split('/');
        if (segments.Length != 5 || segments[1] != "ns" || segments[3] != "sa")
        {
            return false;
        }

        ns = segments[2];
        serviceAccount = segments[4];
        return true;
    }

    public override string ToString() => Value ?? string.Empty;

    /// <summary>
    /// Reads the certificate's one URI SAN as a SPIFFE ID. An X509-SVID carries exactly one;
    /// a certificate with none, several, or one that is not a valid SPIFFE ID is refused.
    /// </summary>
    public static bool TryFromCertificate(X509Certificate2 certificate, out SpiffeId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        string? uri = null;
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }

            // X509SubjectAlternativeNameExtension enumerates DNS names and IP addresses but not
            // URIs, so the GeneralNames sequence is read here with the framework's DER reader.
            try
            {
                var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
                var names = reader.ReadSequence();
                reader.ThrowIfNotEmpty();
                var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
                while (names.HasData)
                {
                    var tag = names.PeekTag();
                    if (tag.HasSameClassAndValue(uriTag))
                    {
                        if (uri is not null)
                        {
                            error = "certificate has more than one URI SAN";
                            return false;
                        }

                        uri = names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag);
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException e)
            {
                error = $"malformed subjectAltName extension: {e.Message}";
                return false;
            }
            catch (CryptographicException e)
            {
                error = $"malformed subjectAltName extension: {e.Message}";
                return false;
            }
        }

        if (uri is null)
        {
            error = "certificate has no URI SAN";
            return false;
        }

        if (!TryParse(uri, out id, out var parseError))
        {
            error = $"URI SAN '{uri}' is not a SPIFFE ID: {parseError}";
            return false;
        }

        error = null;
        return true;
    }

    private static string? Validate(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "empty";
        }

        if (value.Length > MaxLength)
        {
            return $"longer than {MaxLength} characters";
        }

        if (!value.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return "scheme must be 'spiffe://' (lowercase)";
        }

        var rest = value.AsSpan(Scheme.Length);
        var slash = rest.IndexOf('/');
        var trustDomain = slash < 0 ? rest : rest[..slash];
        if (trustDomain.IsEmpty)
        {
            return "trust domain is empty";
        }

        foreach (var c in trustDomain)
        {
            if (!(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_'))
            {
                return $"trust domain contains '{c}' (allowed: a-z 0-9 . - _)";
            }
        }

        if (slash < 0)
        {
            return null;
        }

        var path = rest[(slash + 1)..];
        while (true)
        {
            var next = path.IndexOf('/');
            var segment = next < 0 ? path : path[..next];
            if (segment.IsEmpty)
            {
                return "path has an empty segment or a trailing '/'";
            }

            if (segment is "." or "..")
            {
                return "path has a '.' or '..' segment";
            }

            foreach (var c in segment)
            {
                if (!(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_'))
                {
                    return $"path contains '{c}' (allowed: A-Z a-z 0-9 . - _)";
                }
            }

            if (next < 0)
            {
                return null;
            }

            path = path[(next + 1)..];
        }
    }
}
