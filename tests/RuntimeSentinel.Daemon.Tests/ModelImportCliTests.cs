using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Lab.Export;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary><c>sentinel models import</c> as a process: the version it writes, and a refusal's exit code, one line and untouched store.</summary>
public sealed class ModelImportCliTests : IDisposable
{
    private static readonly WorkloadKey Key = new("c", "shop", "Deployment", "cart", "cart");
    private readonly TempFolder _temp = new("models-import-");

    public void Dispose() => _temp.Dispose();

    /// <summary>A CSV export of 60 windows of the workload: the fixtures' four features near 0.5.</summary>
    private async Task<string> ExportAsync()
    {
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 60).Select(i =>
        {
            var v = new float[BehaviourFeatures.Names.Count];
            foreach (var f in OnnxFixtures.Features)
            {
                v[BehaviourFeatures.Names.ToList().IndexOf(f)] = 0.5f + (float)(rng.NextDouble() - 0.5);
            }

            var start = new DateTimeOffset(2026, 11, 30, 1, 0, 0, TimeSpan.Zero).AddSeconds(10 * i);
            return new FeatureRow(Key, null, start, start.AddSeconds(10), "learning", v, null, 0);
        }).ToList();
        var csv = _temp["features.csv"];
        await FeatureCsvWriter.WriteAsync(csv, FeatureSchema.Table(rows, TimeSpan.FromSeconds(10)), default);
        return csv;
    }

    private async Task<(int Code, string Stdout, string Stderr)> ImportAsync(string model, string card, string csv)
    {
        var cardPath = _temp["card-" + Guid.NewGuid().ToString("N") + ".json"];
        await File.WriteAllTextAsync(cardPath, card);
        using var p = new SentinelProcess("models", "import", Key.Value, model, "--card", cardPath, "--features", csv, "--models", _temp["models"], "--promote");
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, p.Stdout, p.Stderr);
    }

    [Fact]
    public async Task Import_GoodModelThenRefusedOnes_VersionPromotedAndRefusalsExitOneWithOneLineLeavingItInService()
    {
        var csv = await ExportAsync();
        var (code, stdout, stderr) = await ImportAsync(OnnxFixtures.PathOf(OnnxFixtures.Distance4), OnnxFixtures.Card(), csv);
        Assert.True(code == 0, stderr);
        Assert.Contains("v1 (promoted): onnx:dist threshold", stdout, StringComparison.Ordinal);
        var version = Path.Combine(new ModelStore(_temp["models"]).VersionPath(Key.Value, "v1"));
        Assert.True(File.Exists(Path.Combine(version, OnnxCard.ModelFileName)) && File.Exists(Path.Combine(version, OnnxCard.FileName)));
        var before = Directory.GetFileSystemEntries(_temp["models"], "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();

        var corrupt = _temp["corrupt.onnx"];
        await File.WriteAllTextAsync(corrupt, "this is not an ONNX model");
        foreach (var (model, card, problem) in new[]
        {
            (corrupt, OnnxFixtures.Card(), "not a model ONNX Runtime can load"),
            (OnnxFixtures.PathOf(OnnxFixtures.Distance4), OnnxFixtures.Card(features: ["events", "exec", "connect", "nope"]), "feature 'nope' is not a feature column"),
            (OnnxFixtures.PathOf(OnnxFixtures.Rowwise4), OnnxFixtures.Card(), "one float per row is expected"),
        })
        {
            (code, _, stderr) = await ImportAsync(model, card, csv);
            Assert.Equal(1, code);
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("import refused: ", line, StringComparison.Ordinal);
            Assert.Contains(problem, line, StringComparison.Ordinal);
            Assert.Equal(before, Directory.GetFileSystemEntries(_temp["models"], "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList());
            Assert.Equal("v1", Assert.Single(new ModelStore(_temp["models"]).List(), m => m.Promoted).Version);
        }
    }
}
