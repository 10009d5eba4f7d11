namespace Trellis.Controller.Tokens;

/// <summary>What a valid token proves (namespace, service account), or why it is invalid.</summary>
public readonly record struct TokenValidation(bool IsValid, string Namespace, string ServiceAccount, string Error)
{
    /// <summary>An invalid result.</summary>
    public static TokenValidation Fail(string error) => new(false, string.Empty, string.Empty, error);
}
