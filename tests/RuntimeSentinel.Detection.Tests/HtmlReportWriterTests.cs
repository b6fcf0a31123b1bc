using System.Text.RegularExpressions;
using RuntimeSentinel.Lab.Evaluation;
using RuntimeSentinel.Lab.Reports;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public sealed partial class HtmlReportWriterTests : IDisposable
{
    private const string Hostile = "<script>alert('x')</script>&\"<img src=x onerror=alert(1)>";
    private readonly TempFolder _temp = new("html-report-");

    public void Dispose() => _temp.Dispose();

    private static EvaluationReport Report(IReadOnlyList<ScoreSeries> scores) => new()
    {
        Title = "Backtest of " + Hostile,
        Facts = [("workload", Hostile)],
        Tables = [new ReportTable(Hostile, ["attack", Hostile], [[Hostile, "1"]])],
        Scores = scores,
        Alerts = [new AlertSeries(Hostile, [new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 1, 0, 40, 0, TimeSpan.Zero)])],
        AlertsBy = "version",
        From = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
        To = new DateTimeOffset(2026, 1, 1, 1, 0, 0, TimeSpan.Zero),
        Notes = [Hostile],
    };

    [Fact]
    public void Write_NamesWithMarkup_EveryInputTextEscapedNoTagFromInput()
    {
        var series = new ScoreSeries(Hostile, [new(0.2, false), new(0.4, false), new(1.5, true), new(0.3, true)]);
        var files = HtmlReportWriter.Write(Report([series]), _temp.Path);
        var html = File.ReadAllText(files[0]);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img src=x", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;", html, StringComparison.Ordinal);

        // The only tags are the writer's own: every <img> points at a file it wrote.
        var sources = ImgSource().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["roc.png", "pr.png", "scores-1.png", "alerts.png"], sources);
    }

    [Fact]
    public void Write_TwoClassSeries_EveryImageIsADecodablePngOfTheStatedSize()
    {
        var files = HtmlReportWriter.Write(Report([new ScoreSeries("a", [new(0.1, false), new(2, true)]), new ScoreSeries("b", [new(0.5, false), new(0.7, true)])]), _temp.Path);
        Assert.Equal(["index.html", "roc.png", "pr.png", "scores-1.png", "scores-2.png", "alerts.png"], files.Select(f => Path.GetFileName(f)!).ToArray());
        foreach (var png in files.Skip(1))
        {
            using var bitmap = SkiaSharp.SKBitmap.Decode(png);
            Assert.NotNull(bitmap);
            Assert.Equal((ReportPlots.Width, ReportPlots.Height), (bitmap.Width, bitmap.Height));

            // A plot has ink: more than a handful of colours (an empty canvas, or one with text missing, has few).
            var colours = new HashSet<uint>();
            for (var y = 0; y < bitmap.Height; y += 3)
            {
                for (var x = 0; x < bitmap.Width; x += 3)
                {
                    colours.Add((uint)bitmap.GetPixel(x, y));
                }
            }

            Assert.True(colours.Count > 20, $"{png}: {colours.Count} colours");
        }
    }

    [Fact]
    public void Write_SeriesWithoutAttackWindows_NoCurvesAndANoteSayingWhy()
    {
        var files = HtmlReportWriter.Write(Report([new ScoreSeries("only-normal", [new(0.1, false), new(0.2, false)])]), _temp.Path);
        Assert.DoesNotContain(files, f => Path.GetFileName(f) is "roc.png" or "pr.png");
        Assert.Contains("No ROC or precision–recall curve for only-normal: it has 0 attack and 2 normal windows", File.ReadAllText(files[0]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(30, 1)]
    [InlineData(90, 2)]
    [InlineData(24 * 60, 30)]
    public void BinFor_Span_RoundMinutesGivingAtMostSixtyBins(int spanMinutes, int binMinutes) =>
        Assert.Equal(TimeSpan.FromMinutes(binMinutes), ReportPlots.BinFor(TimeSpan.FromMinutes(spanMinutes)));

    [GeneratedRegex("<img src=\"([^\"]*)\"")]
    private static partial Regex ImgSource();
}
