using System.CommandLine;
using Grpc.Core;
using Trellis.Api.Registry.V1;
using Trellis.Cli.Client;
using Trellis.Cli.Rendering;

namespace Trellis.Cli.Commands;

/// <summary>`trellis get pods|services [-n NS]`.</summary>
internal static class GetCommand
{
    public static readonly Option<string?> Namespace = new("--namespace", "-n") { Description = "Namespace (default: all)" };

    public static Command Create()
    {
        var kind = new Argument<string>("kind") { Description = "pods or services" };
        kind.AcceptOnlyFromAmong("pods", "pod", "po", "services", "service", "svc");
        var command = new Command("get", "List pods or services") { kind, Namespace };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = ControllerClient.Create(GlobalOptions.State(parse), parse.GetValue(GlobalOptions.Controller), admin: false);
            var request = new ListRequest { Namespace = parse.GetValue(Namespace) ?? string.Empty };
            try
            {
                var text = parse.GetValue(kind)!.StartsWith('p')
                    ? RenderPods(await client.Registry.ListPodsAsync(request, cancellationToken: cancellationToken), GlobalOptions.Json(parse))
                    : RenderServices(await client.Registry.ListServicesAsync(request, cancellationToken: cancellationToken), GlobalOptions.Json(parse));
                Console.Out.Write(text);
                return 0;
            }
            catch (RpcException e)
            {
                throw client.Explain(e);
            }
        });
        return command;
    }

    internal static string RenderPods(ListPodsResponse response, bool json)
    {
        if (json)
        {
            return Json.Write(writer =>
            {
                writer.WriteStartArray();
                foreach (var pod in response.Pods)
                {
                    writer.WriteStartObject();
                    writer.WriteString("namespace", pod.Namespace);
                    writer.WriteString("name", pod.Name);
                    writer.WriteString("workload", pod.Workload);
                    writer.WriteString("serviceAccount", pod.ServiceAccount);
                    writer.WriteString("address", pod.Address);
                    writer.WriteBoolean("ready", pod.Ready);
                    writer.WriteString("identity", pod.Identity);
                    writer.WriteStartArray("services");
                    foreach (var service in pod.Services)
                    {
                        writer.WriteStringValue($"{service.Name}:{service.Port}");
                    }

                    writer.WriteEndArray();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            });
        }

        var table = new Table("NAMESPACE", "NAME", "WORKLOAD", "READY", "IP", "SERVICES", "IDENTITY");
        foreach (var pod in response.Pods)
        {
            table.Add(pod.Namespace, pod.Name, pod.Workload, pod.Ready ? "1/1" : "0/1", pod.Address,
                string.Join(",", pod.Services.Select(s => $"{s.Name}:{s.Port}")), pod.Identity);
        }

        return table.Count == 0 ? "No pods found.\n" : table.Render();
    }

    internal static string RenderServices(ListServicesResponse response, bool json)
    {
        if (json)
        {
            return Json.Write(writer =>
            {
                writer.WriteStartArray();
                foreach (var service in response.Services)
                {
                    writer.WriteStartObject();
                    writer.WriteString("namespace", service.Namespace);
                    writer.WriteString("name", service.Name);
                    writer.WriteString("virtualIp", service.VirtualIp);
                    writer.WriteStartArray("ports");
                    foreach (var port in service.Ports)
                    {
                        writer.WriteNumberValue(port);
                    }

                    writer.WriteEndArray();
                    writer.WriteNumber("readyEndpoints", service.ReadyEndpoints);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            });
        }

        var table = new Table("NAMESPACE", "NAME", "VIRTUAL-IP", "PORTS", "ENDPOINTS");
        foreach (var service in response.Services)
        {
            table.Add(service.Namespace, service.Name, service.VirtualIp, string.Join(",", service.Ports), service.ReadyEndpoints.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return table.Count == 0 ? "No services found.\n" : table.Render();
    }
}
