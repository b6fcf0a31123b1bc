using Spectre.Console;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// Whether a CLI stream is a terminal that may be drawn on (live progress, colour), and a Spectre console for it. Not
/// when it is redirected (a file, a pipe, CI's log), when <c>NO_COLOR</c> is set (https://no-color.org) or when
/// <c>TERM=dumb</c>: then output is plain lines without colour or control characters.
/// </summary>
internal static class Terminal
{
    public static bool NoColor => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));

    private static bool Dumb => string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal);

    /// <summary>Standard error is a terminal to draw on.</summary>
    public static bool ErrorIsInteractive => !Console.IsErrorRedirected && !NoColor && !Dumb;

    /// <summary>Standard output is a terminal to draw on.</summary>
    public static bool OutputIsInteractive => !Console.IsOutputRedirected && !NoColor && !Dumb;

    /// <summary>
    /// A console writing to <paramref name="output"/>: ANSI and colour only when <paramref name="interactive"/>; otherwise
    /// plain text, as wide as the content needs up to 200 columns (a file has no width to wrap at).
    /// </summary>
    public static IAnsiConsole Create(TextWriter output, bool interactive)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!interactive)
        {
            console.Profile.Width = 200;
        }

        return console;
    }

    /// <summary>Text from input (workload names, paths, topics) made safe for Spectre markup and for a terminal.</summary>
    public static string Safe(string text) => Markup.Escape(Core.Text.ControlCharacters.Escape(text));
}

/// <summary>
/// Tables and summaries of the CLI's reports, drawn with Spectre.Console for standard output: rounded borders and colour
/// on a terminal, ASCII borders and no colour (no control characters) in a file, a pipe or under NO_COLOR.
/// </summary>
internal static class CliTables
{
    /// <summary>A table with these column headers (text, escaped).</summary>
    public static Table Create(params string[] headers)
    {
        var table = new Table().Border(Terminal.OutputIsInteractive ? TableBorder.Rounded : TableBorder.Ascii);
        foreach (var h in headers)
        {
            table.AddColumn(new TableColumn(Terminal.Safe(h)));
        }

        return table;
    }

    /// <summary>Adds a row of plain texts (each escaped: they come from input).</summary>
    public static Table Row(this Table table, params string[] cells)
    {
        table.AddRow(cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(Core.Text.ControlCharacters.Escape(c))).ToArray());
        return table;
    }

    /// <summary>What <paramref name="draw"/> writes, as text for standard output.</summary>
    public static string Render(Action<IAnsiConsole> draw)
    {
        using var writer = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        var interactive = Terminal.OutputIsInteractive;
        var console = Terminal.Create(writer, interactive);
        if (interactive)
        {
            console.Profile.Width = Console.WindowWidth > 0 ? Console.WindowWidth : 120;
        }

        draw(console);
        return writer.ToString().TrimEnd('\n', '\r');
    }
}
