using Trellis.Controller;
using Trellis.Controller.Hosting;

// trellis-controller [--dir DIR] [--listen ADDR,ADDR] [--port 8086] [--trust-domain cluster.local]
//                    [--pod-cidr 10.42.0.0/16] [--service-cidr 10.43.0.0/16] [--lease-seconds 15]
//                    [--certificate-minutes 1440]
ControllerOptions options;
try
{
    options = ControllerOptions.From(new ConfigurationBuilder().AddCommandLine(args).Build());
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync("trellis-controller: " + e.Message);
    return 2;
}

WebApplication app;
try
{
    app = ControllerApp.Build(options, TimeProvider.System);
}
catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
{
    await Console.Error.WriteLineAsync("trellis-controller: " + e.Message);
    return 1;
}

await app.RunAsync();
return 0;
