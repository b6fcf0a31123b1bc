using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>
/// The HTML reports as a person sees them: made from real corpus runs (<c>models backtest --report</c>, <c>evaluate
/// stream --report</c>), opened in headless Chromium, every image loaded and nothing logged as an error. The
/// screenshots are kept for CI under <c>test-artifacts/</c> at the repository root (git-ignored).
/// </summary>
[Collection(BacktestCorpusCollection.Name)]
public sealed class ReportBrowserTests(BacktestCorpus corpus)
{
    private static string Artifact(string name) => Path.Combine(Datasets.RepoRoot, "test-artifacts", name);

    [SkippableFact]
    public async Task Reports_OfABacktestAndAStreamEvaluationOnTheCorpus_EveryImageLoadsAndNoErrorIsLogged()
    {
        var chromium = Tools.Require("chromium", "Debian package chromium; .ci/run installs it");
        var backtest = corpus.Temp("backtest-report");
        await BacktestCorpus.SentinelAsync(["models", "backtest", BacktestCorpus.Api, "--candidate", "v2", .. corpus.Files, "--labels", corpus.Labels, "--models", corpus.Models, "--report", backtest]);
        var stream = corpus.Temp("stream-report");
        await BacktestCorpus.SentinelAsync(["evaluate", "stream", .. corpus.Files, "--labels", corpus.Labels, "--report", stream]);

        await using var browser = await HeadlessChromium.StartAsync(chromium);
        foreach (var (dir, shot) in new[] { (backtest, "backtest-report.png"), (stream, "evaluate-stream-report.png") })
        {
            var check = await browser.CheckAsync(Path.Combine(dir, "index.html"), Artifact(shot));

            // ROC, precision-recall, a histogram per series and alerts per hour: every PNG written is on the page.
            Assert.Equal(Directory.GetFiles(dir, "*.png").Select(Path.GetFileName).Order(), check.Images.Select(i => i.Source).Order());
            Assert.True(check.Images.Count >= 4, string.Join(", ", check.Images));
            Assert.All(check.Images, i => Assert.True(i.Complete && i.NaturalWidth > 0, $"{dir}: {i.Source} did not load"));
            Assert.Empty(check.Errors);
            Assert.True(new FileInfo(Artifact(shot)).Length > 10_000, "the screenshot holds a page");
        }
    }

    [SkippableFact]
    public async Task Check_ReportWithAnImageMissingAndOneCorrupt_BothSeenBrokenAndLogged()
    {
        // The check above must be able to fail: the same report with one image deleted and one cut short.
        var chromium = Tools.Require("chromium", "Debian package chromium; .ci/run installs it");
        var dir = corpus.Temp("broken-report");
        await BacktestCorpus.SentinelAsync(["models", "backtest", BacktestCorpus.Api, "--candidate", "v2", .. corpus.Files, "--labels", corpus.Labels, "--models", corpus.Models, "--report", dir]);
        File.Delete(Path.Combine(dir, "roc.png"));
        var histogram = Path.Combine(dir, "scores-1.png");
        await File.WriteAllBytesAsync(histogram, (await File.ReadAllBytesAsync(histogram))[..40]);

        await using var browser = await HeadlessChromium.StartAsync(chromium);
        var check = await browser.CheckAsync(Path.Combine(dir, "index.html"), Path.Combine(dir, "screenshot.png"));
        Assert.Equal(["roc.png", "scores-1.png"], check.Images.Where(i => i.NaturalWidth == 0).Select(i => i.Source).ToArray());
        Assert.Contains(check.Errors, e => e.Contains("roc.png", StringComparison.Ordinal));
    }
}
