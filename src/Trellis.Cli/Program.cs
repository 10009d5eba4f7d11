using System.CommandLine;
using Trellis.Cli.Commands;

var root = new RootCommand("trellis: a small service mesh (hosts mode)")
{
    GlobalOptions.Dir,
    GlobalOptions.Controller,
    GlobalOptions.Output,
};
root.Subcommands.Add(InstallCommand.Create());
root.Subcommands.Add(UpCommand.Create());
root.Subcommands.Add(DownCommand.Create());
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ExecCommand.Create());
root.Subcommands.Add(GetCommand.Create());
root.Subcommands.Add(DiagnosticsCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(VersionCommand.Create());

try
{
    // Signals belong to the commands (run forwards them to the app), not to the parser.
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
}
catch (CliException e)
{
    await Console.Error.WriteLineAsync("trellis: " + e.Message);
    return e.ExitCode;
}
