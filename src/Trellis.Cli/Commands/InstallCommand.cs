using System.CommandLine;
using Trellis.Controller.Identity;
using Trellis.Controller.Tokens;

namespace Trellis.Cli.Commands;

/// <summary>`trellis install --hosts [--dir DIR]`: creates (or reuses) the trust anchor, issuer and keys.</summary>
internal static class InstallCommand
{
    public static Command Create()
    {
        var hosts = new Option<bool>("--hosts") { Description = "Install for hosts mode (the only mode so far)" };
        var trustDomain = new Option<string>("--trust-domain") { Description = "SPIFFE trust domain", DefaultValueFactory = _ => "cluster.local" };
        var command = new Command("install", "Create the trust anchor, issuer and keys in the state directory (reused when present)")
        {
            hosts,
            trustDomain,
        };
        command.SetAction(parse =>
        {
            if (!parse.GetValue(hosts))
            {
                throw new CliException("only hosts mode can be installed so far: pass --hosts (Kubernetes comes later)", 2);
            }

            var state = GlobalOptions.State(parse);
            var existed = File.Exists(state.TrustAnchorCertificate);
            using var ca = CertificateAuthority.LoadOrCreate(state, parse.GetValue(trustDomain)!, TimeProvider.System);
            WorkloadTokens.LoadOrCreate(state, TimeProvider.System);
            AdminCredential.LoadOrCreate(state);
            Console.Out.Write(
                $"{(existed ? "Reused" : "Created")} trust anchor {state.TrustAnchorCertificate} (valid until {ca.TrustAnchor.NotAfter.ToUniversalTime():u})\n" +
                $"Issuer {state.IssuerCertificate} (valid until {ca.Issuer.NotAfter.ToUniversalTime():u})\n" +
                $"Keys, token key and admin credential in {state.Root} (mode 0600)\n");
            return 0;
        });
        return command;
    }
}
