using System.CommandLine;
using Trellis.Controller.State;

namespace Trellis.Cli.Commands;

/// <summary>Options every command understands: the state directory, the controller address and the output format.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string> Dir = new("--dir")
    {
        Description = "State directory (trust anchor, keys, controller pid and log)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TRELLIS_DIR") ?? StateDirectory.DefaultPath,
        Recursive = true,
    };

    public static readonly Option<string?> Controller = new("--controller")
    {
        Description = "Controller address HOST:PORT (default: 127.0.0.1 and the port chosen at `trellis up`)",
        Recursive = true,
    };

    public static readonly Option<string> Output = new("--output", "-o")
    {
        Description = "Output format: table or json",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    };

    static GlobalOptions() => Output.AcceptOnlyFromAmong("table", "json");

    public static StateDirectory State(ParseResult parse) => new(parse.GetValue(Dir)!);

    public static bool Json(ParseResult parse) => parse.GetValue(Output) == "json";
}
