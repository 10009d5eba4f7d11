using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Trellis.Controller.State;

namespace Trellis.Controller.Tokens;

/// <summary>
/// The admin credential: a random secret in the state directory, readable only by its owner (root
/// in hosts mode). Registry writes and token issuance require it as a bearer token, so only
/// someone who can read the state directory, such as `trellis run` on the same host, can register
/// pods or mint identities.
/// </summary>
public sealed class AdminCredential
{
    /// <summary>The gRPC metadata key carrying the credential.</summary>
    public const string MetadataKey = "authorization";

    private readonly byte[] _expected;

    /// <summary>Creates a checker for <paramref name="secret"/>.</summary>
    public AdminCredential(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Secret = secret;
        _expected = Encoding.ASCII.GetBytes("Bearer " + secret);
    }

    /// <summary>The secret itself (for clients).</summary>
    public string Secret { get; }

    /// <summary>Loads the credential, creating it (0600) on first start.</summary>
    public static AdminCredential LoadOrCreate(StateDirectory state)
    {
        state.EnsureExists();
        if (!File.Exists(state.AdminCredential))
        {
            StateDirectory.WriteSecret(state.AdminCredential,
                Encoding.ASCII.GetBytes(Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant()));
        }

        return Load(state);
    }

    /// <summary>Loads an existing credential; a clear error when it is missing or unreadable.</summary>
    public static AdminCredential Load(StateDirectory state)
    {
        try
        {
            return new AdminCredential(File.ReadAllText(state.AdminCredential).Trim());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"cannot read the admin credential {state.AdminCredential}: {e.Message} (run as root, or pass the state directory with --dir)", e);
        }
    }

    /// <summary>Throws UNAUTHENTICATED or PERMISSION_DENIED unless the call carries this credential.</summary>
    public void Demand(ServerCallContext context)
    {
        var value = context.RequestHeaders.GetValue(MetadataKey);
        if (string.IsNullOrEmpty(value))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                "this call needs the admin credential from the controller's state directory"));
        }

        if (!CryptographicOperations.FixedTimeEquals(_expected, Encoding.ASCII.GetBytes(value)))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "the admin credential is wrong"));
        }
    }
}
