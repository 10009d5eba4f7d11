using System.CommandLine;
using System.Net;
using Grpc.Core;
using Trellis.Api.Destination.V1;
using Trellis.Cli.Client;
using Trellis.Cli.Rendering;

namespace Trellis.Cli.Commands;

/// <summary>`trellis diagnostics endpoints AUTHORITY`: the endpoint set destination answers for an authority, as a proxy sees it.</summary>
internal static class DiagnosticsCommand
{
    public static Command Create()
    {
        var authority = new Argument<string>("authority") { Description = "web.demo.svc.cluster.local:8080, web.demo:8080 or VIP:PORT" };
        var endpoints = new Command("endpoints", "Show the endpoints destination answers for an authority") { authority };
        endpoints.SetAction(async (parse, cancellationToken) =>
        {
            using var client = ControllerClient.Create(GlobalOptions.State(parse), parse.GetValue(GlobalOptions.Controller), admin: false);
            var path = parse.GetValue(authority)!;
            Update first;
            using var call = client.Destination.Get(new GetDestination { Path = path, ContextToken = "trellis-cli" }, cancellationToken: cancellationToken);
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(TimeSpan.FromSeconds(5));
                if (!await call.ResponseStream.MoveNext(deadline.Token))
                {
                    throw new CliException($"destination closed the stream for {path} without an answer");
                }

                first = call.ResponseStream.Current;
            }
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
            {
                throw client.Explain(e);
            }

            // The first message is the complete state: a full Add, or NoEndpoints.
            Console.Out.Write(Render(path, first, GlobalOptions.Json(parse)));
            return first.UpdateCase == Update.UpdateOneofCase.Add ? 0 : 1;
        });
        return new Command("diagnostics", "Inspect the control plane's answers") { endpoints };
    }

    internal static string Render(string path, Update update, bool json)
    {
        var endpoints = update.UpdateCase == Update.UpdateOneofCase.Add ? update.Add.Endpoints : [];
        if (json)
        {
            return Json.Write(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("authority", path);
                writer.WriteBoolean("exists", update.UpdateCase == Update.UpdateOneofCase.Add || update.NoEndpoints.Exists);
                writer.WriteStartArray("endpoints");
                foreach (var endpoint in endpoints)
                {
                    writer.WriteStartObject();
                    writer.WriteString("address", Address(endpoint.Address));
                    writer.WriteNumber("weight", endpoint.Weight);
                    writer.WriteString("identity", endpoint.TlsIdentity?.SpiffeId ?? string.Empty);
                    writer.WriteString("protocolHint", endpoint.ProtocolHint?.Protocol.ToString() ?? string.Empty);
                    writer.WriteStartObject("labels");
                    foreach (var label in endpoint.MetricLabels.OrderBy(l => l.Key, StringComparer.Ordinal))
                    {
                        writer.WriteString(label.Key, label.Value);
                    }

                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            });
        }

        if (update.UpdateCase != Update.UpdateOneofCase.Add)
        {
            return update.NoEndpoints.Exists
                ? $"No ready endpoints for {path} (the service exists).\n"
                : $"No endpoints for {path}: no such service or pod.\n";
        }

        var table = new Table("ADDRESS", "POD", "WORKLOAD", "IDENTITY", "HINT");
        foreach (var endpoint in endpoints)
        {
            table.Add(Address(endpoint.Address), endpoint.MetricLabels.GetValueOrDefault("dst_pod", "-"),
                endpoint.MetricLabels.GetValueOrDefault("dst_workload", "-"), endpoint.TlsIdentity?.SpiffeId ?? "-",
                endpoint.ProtocolHint?.Protocol.ToString().ToLowerInvariant() ?? "-");
        }

        return table.Render();
    }

    private static string Address(TcpAddress address) =>
        new IPEndPoint(new IPAddress(address.Ip.Span), (int)address.Port).ToString();
}
