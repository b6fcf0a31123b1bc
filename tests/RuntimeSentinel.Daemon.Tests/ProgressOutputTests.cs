using System.Diagnostics;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// Long verbs draw a live Spectre.Console bar on a terminal and write plain lines everywhere else: a file, a pipe, CI,
/// or a terminal with NO_COLOR set. The terminal is a real pseudo-terminal (util-linux <c>script</c>).
/// </summary>
public sealed class ProgressOutputTests : IDisposable
{
    private readonly TempFolder _temp = new("sentinel-progress-");

    public void Dispose() => _temp.Dispose();

    private async Task<string> EventsAsync()
    {
        var file = Path.Combine(_temp.Path, "events.jsonl");
        using var p = new SentinelProcess("demo-events", "--seconds", "300", "--seed", "1");
        await p.AssertExitsWithAsync(0, TimeSpan.FromMinutes(2));
        await File.WriteAllTextAsync(file, p.Stdout);
        return file;
    }

    [Fact]
    public async Task Train_StandardErrorToAPipe_PlainLinesWithRateAndNoControlCharacters()
    {
        var events = await EventsAsync();
        using var p = new SentinelProcess("train", events, "--models", Path.Combine(_temp.Path, "models"));
        await p.AssertExitsWithAsync(0, TimeSpan.FromMinutes(3));

        Assert.Contains("learning: 100 %", p.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"learning: \d+ % \(\d+/\d+\), [\d,]+/s", p.Stderr);
        Assert.DoesNotContain('\u001b', p.Stderr);
        Assert.DoesNotContain('\r', p.Stderr);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Train_OnATerminal_LiveBarUnlessNoColor(bool noColor)
    {
        var script = Tools.Require("script", "util-linux's script, in Debian's bsdutils");
        var events = await EventsAsync();
        var dll = Path.Combine(AppContext.BaseDirectory, "sentinel.dll");
        var command = $"dotnet {dll} train {events} --models {Path.Combine(_temp.Path, "models")}";
        var psi = new ProcessStartInfo(script, ["-qefc", command, "/dev/null"]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.Environment["TERM"] = "xterm-256color";
        psi.Environment["COLUMNS"] = "160";
        psi.Environment.Remove("NO_COLOR");
        if (noColor)
        {
            psi.Environment["NO_COLOR"] = "1";
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(cts.Token);
        // The .NET runtime itself switches a terminal's keypad to application mode when it starts (and back at exit)
        // whenever standard input is a terminal; that is not our output, so it is taken out before looking.
        var screen = (await stdout + await stderr).Replace("\u001b[?1h\u001b=", "", StringComparison.Ordinal).Replace("\u001b[?1l\u001b>", "", StringComparison.Ordinal);

        Assert.Equal(0, p.ExitCode);
        if (noColor)
        {
            Assert.DoesNotContain('\u001b', screen);
            Assert.Contains("learning: 100 %", screen, StringComparison.Ordinal);
        }
        else
        {
            // Spectre's bar: its glyphs, cursor control to redraw it, and the count column.
            Assert.Contains("━", screen, StringComparison.Ordinal);
            Assert.Contains('\u001b', screen);
            Assert.DoesNotContain("learning: 100 %", screen, StringComparison.Ordinal);
        }
    }
}
