using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Trellis.Controller.Registry;
using Trellis.Controller.State;

namespace Trellis.Controller.Tokens;

/// <summary>
/// Hosts-mode workload tokens: <c>trellis1.&lt;payload&gt;.&lt;mac&gt;</c>, where the payload binds a
/// namespace, a service account and an expiry, and the MAC is HMAC-SHA256 under a key kept in the
/// state directory (0600). Only the controller can mint or check them; `trellis run` obtains one
/// per pod through the admin-authorised IssueToken call. Hand-written because a JWT library would
/// bring a format and an attack surface (alg confusion) this one-party scheme does not need.
/// </summary>
public sealed class WorkloadTokens
{
    private const string Prefix = "trellis1";
    private const int KeyBytes = 32;
    private readonly byte[] _key;
    private readonly TimeProvider _time;

    /// <summary>Creates the token service with an explicit key.</summary>
    public WorkloadTokens(byte[] key, TimeProvider time)
    {
        if (key.Length < KeyBytes)
        {
            throw new ArgumentException($"the token key must have at least {KeyBytes} bytes", nameof(key));
        }

        _key = key;
        _time = time;
    }

    /// <summary>Loads the key from the state directory, creating it (0600) on first start.</summary>
    public static WorkloadTokens LoadOrCreate(StateDirectory state, TimeProvider time)
    {
        state.EnsureExists();
        if (!File.Exists(state.TokenKey))
        {
            StateDirectory.WriteSecret(state.TokenKey, Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes))));
        }

        var key = Convert.FromBase64String(File.ReadAllText(state.TokenKey).Trim());
        return new WorkloadTokens(key, time);
    }

    /// <summary>Mints a token for <paramref name="ns"/>/<paramref name="serviceAccount"/> valid for <paramref name="lifetime"/>.</summary>
    public (string Token, DateTimeOffset Expires) Issue(string ns, string serviceAccount, TimeSpan lifetime)
    {
        Names.RequireDnsLabel(ns, "namespace");
        Names.RequireDnsLabel(serviceAccount, "service account");
        var expires = _time.GetUtcNow() + lifetime;
        var payload = Encoding.UTF8.GetBytes($"{ns}\n{serviceAccount}\n{expires.ToUnixTimeSeconds()}");
        var encoded = Base64Url.EncodeToString(payload);
        return ($"{Prefix}.{encoded}.{Mac(encoded)}", DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds()));
    }

    /// <summary>Checks a token's format, MAC and expiry, and yields what it proves.</summary>
    public TokenValidation Validate(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return TokenValidation.Fail("no token");
        }

        var parts = token.Split('.');
        if (parts.Length != 3 || parts[0] != Prefix)
        {
            return TokenValidation.Fail("the token is not a trellis workload token");
        }

        var expected = Encoding.ASCII.GetBytes(Mac(parts[1]));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[2])))
        {
            return TokenValidation.Fail("the token's signature is invalid (issued by another controller, or altered)");
        }

        string[] fields;
        try
        {
            fields = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Split('\n');
        }
        catch (FormatException)
        {
            return TokenValidation.Fail("the token's payload is malformed");
        }

        if (fields.Length != 3 || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expiresUnix))
        {
            return TokenValidation.Fail("the token's payload is malformed");
        }

        if (_time.GetUtcNow().ToUnixTimeSeconds() >= expiresUnix)
        {
            return TokenValidation.Fail($"the token expired at {DateTimeOffset.FromUnixTimeSeconds(expiresUnix):u}");
        }

        return new TokenValidation(true, fields[0], fields[1], string.Empty);
    }

    private string Mac(string encodedPayload) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(encodedPayload)));
}
