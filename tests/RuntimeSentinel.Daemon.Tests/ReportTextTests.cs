namespace RuntimeSentinel.Daemon.Tests;

/// <summary>The text reports drawn with Spectre.Console: to a pipe (as here) ASCII tables, no colour, no control characters.</summary>
[Collection(BacktestCorpusCollection.Name)]
public sealed class ReportTextTests(BacktestCorpus corpus)
{
    [Fact]
    public async Task EvaluateStream_StandardOutputToAPipe_AsciiTablesOfAttacksWithoutControlCharacters()
    {
        var text = await BacktestCorpus.SentinelAsync(["evaluate", "stream", .. corpus.Files, "--labels", corpus.Labels]);

        Assert.DoesNotContain('\u001b', text);
        Assert.Matches(@"\| attack +\| kind +\| caught +\| after +\| first incident +\|", text);
        Assert.Matches(@"caught: \d+/\d+ that do something new, \d+/\d+ stealthy", text);
        Assert.Contains("+--", text, StringComparison.Ordinal);
        Assert.DoesNotContain("╭", text, StringComparison.Ordinal);
    }
}
