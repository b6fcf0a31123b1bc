using RuntimeSentinel.Daemon.Cli;

namespace RuntimeSentinel.Daemon.Tests;

public class ProgressBarTests
{
    [Fact]
    public void Report_UnknownTotalNotATerminal_CountAndRateLinesThenDone()
    {
        using var output = new StringWriter();
        var bar = new ProgressBar(output, "replaying", 0, interactive: false);

        bar.Report(1024);
        bar.Report(2048); // within 5 s of the first line: none
        bar.Done("2048 published");

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("replaying: 1024, ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("replaying: 2048, ", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("2048 published", lines[1].TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void Report_KnownTotalNotATerminal_OneLinePerTenthWithoutControlCharacters()
    {
        using var output = new StringWriter();
        var bar = new ProgressBar(output, "learning", 100, interactive: false);

        for (var i = 0; i <= 100; i++)
        {
            bar.Report(i, i == 50 ? "half \u001b[2Jway" : null);
        }

        bar.Done();
        var text = output.ToString();
        Assert.Equal(11, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain('\u001b', text);
        Assert.Contains("learning: 100 % (100/100)", text, StringComparison.Ordinal);
    }
}
