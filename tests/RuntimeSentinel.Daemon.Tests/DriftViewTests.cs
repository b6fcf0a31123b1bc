using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Daemon.Cli;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>Where drift shows: <c>/workloads</c> and <c>sentinel models list --admin-url</c>.</summary>
public sealed class DriftViewTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly WorkloadKey Cart = new("prod", "shop", "Deployment", "cart", "cart");
    private static readonly WorkloadKey Db = new("prod", "data", "StatefulSet", "postgres", "postgres");
    private readonly TempFolder _temp = new("drift-view-");

    public void Dispose() => _temp.Dispose();

    private static WorkloadSnapshot Snapshot(WorkloadKey key, string version, DriftSummary drift) =>
        new(key, BaselinePhase.Active, At, At, 10, 10, Enum.GetValues<Feature>().ToDictionary(f => f, _ => 1)) { ModelVersion = version, LastSeen = At, Drift = drift };

    private static DriftSummary Drifting(string version) => new()
    {
        ModelVersion = version,
        Psi = 0.41234,
        TopFeatures = [new FeatureDrift("connect", 0.41234), new FeatureDrift("bytes_out", 0.3)],
        Threshold = 0.25,
        ConsecutiveAbove = 7,
        RetrainSuggested = true,
        RetrainSuggestedSince = At.AddMinutes(-5),
        Windows = 360,
        EvaluatedAt = At,
    };

    private static JsonElement Workloads(params WorkloadSnapshot[] snapshots) =>
        JsonDocument.Parse(WorkloadsEndpoint.Render(snapshots, null, null, 0, 1)).RootElement.GetProperty("workloads");

    [Fact]
    public void Workloads_DriftKnownAndUnknown_PsiTopFeaturesRetrainSuggestedOrWhyUnknown()
    {
        var workloads = Workloads(
            Snapshot(Cart, "v2", Drifting("v2")),
            Snapshot(Db, "v1", DriftSummary.NotKnown("v1", "the model card has no reference histograms", 0.25)) with { LastSeen = At.AddSeconds(-1) });

        var cart = workloads[0].GetProperty("drift");
        Assert.Equal("v2", cart.GetProperty("model_version").GetString());
        Assert.Equal(0.4123, cart.GetProperty("psi").GetDouble());
        Assert.Equal(["connect", "bytes_out"], cart.GetProperty("top_features").EnumerateArray().Select(f => f.GetProperty("feature").GetString()));
        Assert.Equal(0.3, cart.GetProperty("top_features")[1].GetProperty("psi").GetDouble());
        Assert.True(cart.GetProperty("retrain_suggested").GetBoolean());
        Assert.Equal(At.AddMinutes(-5), cart.GetProperty("retrain_suggested_since").GetDateTimeOffset());
        Assert.Equal(7, cart.GetProperty("consecutive_above").GetInt32());
        Assert.Equal(0.25, cart.GetProperty("threshold").GetDouble());
        Assert.Equal(360, cart.GetProperty("windows").GetInt32());
        Assert.Equal(At, cart.GetProperty("evaluated_at").GetDateTimeOffset());

        var db = workloads[1].GetProperty("drift");
        Assert.Equal(JsonValueKind.Null, db.GetProperty("psi").ValueKind);
        Assert.Equal("the model card has no reference histograms", db.GetProperty("unknown").GetString());
        Assert.False(db.GetProperty("retrain_suggested").GetBoolean());
        Assert.Equal(0, db.GetProperty("top_features").GetArrayLength());
    }

    [Fact]
    public async Task ModelsList_AdminUrlOfADaemonServingAVersion_DriftColumnForThatVersionOnly()
    {
        var models = _temp["models"];
        var store = new ModelStore(models);
        foreach (var version in new[] { "v1", "v2" })
        {
            store.Save(new WorkloadModel(Card(Cart.Value, version), null, null));
        }

        store.Save(new WorkloadModel(Card(Db.Value, "v1"), null, null));

        // A daemon serving cart v2 (drifting) and postgres v1 (drift unknown), answering /workloads as the daemon does.
        await using var daemon = await ServeAsync(Snapshot(Cart, "v2", Drifting("v2")), Snapshot(Db, "v1", DriftSummary.NotKnown("v1", "too few windows", 0.25)));

        using var text = new SentinelProcess("models", "list", "--models", models, "--admin-url", daemon.Url);
        Assert.True(0 == await text.WaitForExitAsync(TimeSpan.FromSeconds(60)), text.Stderr);
        var lines = text.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("0.412 retrain suggested (connect, bytes_out)", Line(lines, Cart.Value, "v2"), StringComparison.Ordinal);
        Assert.Contains("| - ", Line(lines, Cart.Value, "v1"), StringComparison.Ordinal); // not served by the daemon asked
        Assert.Contains(" unknown", Line(lines, Db.Value, "v1"), StringComparison.Ordinal);

        using var json = new SentinelProcess("models", "list", "--models", models, "--admin-url", daemon.Url, "--json");
        Assert.True(0 == await json.WaitForExitAsync(TimeSpan.FromSeconds(60)), json.Stderr);
        var listed = JsonDocument.Parse(json.Stdout).RootElement.EnumerateArray().ToList();
        var v2 = listed.Single(m => m.GetProperty("workload").GetString() == Cart.Value && m.GetProperty("version").GetString() == "v2").GetProperty("drift");
        Assert.Equal(0.4123, v2.GetProperty("psi").GetDouble()); // /workloads rounds to four decimals
        Assert.True(v2.GetProperty("retrain_suggested").GetBoolean());
        Assert.Equal(daemon.Url, v2.GetProperty("daemon").GetString());
        Assert.False(listed.Single(m => m.GetProperty("version").GetString() == "v1" && m.GetProperty("workload").GetString() == Cart.Value).TryGetProperty("drift", out _)); // nulls are left out
        Assert.Equal("too few windows", listed.Single(m => m.GetProperty("workload").GetString() == Db.Value).GetProperty("drift").GetProperty("unknown").GetString());

        // Without --admin-url the listing is the folder's alone; with a daemon that does not answer, the listing still
        // comes, with the failure on stderr and exit 1.
        using var offline = new SentinelProcess("models", "list", "--models", models);
        Assert.Equal(0, await offline.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.DoesNotContain("retrain", offline.Stdout, StringComparison.Ordinal);
        using var down = new SentinelProcess("models", "list", "--models", models, "--admin-url", "http://127.0.0.1:1");
        Assert.Equal(1, await down.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("no drift from http://127.0.0.1:1", down.Stderr, StringComparison.Ordinal);
        Assert.Equal(3, down.Stdout.Split('\n').Count(l => l.StartsWith('|') && l.Contains('/', StringComparison.Ordinal))); // a table row per version
    }

    [Fact]
    public void Parse_HostileAnswers_ThrowTheErrorsTheCliReports()
    {
        // Not the daemon's answer at all, or a drift object of the wrong shape: an exception FetchAsync turns into
        // "no drift from URL", never a crash. A workload without drift (models off) is skipped.
        Assert.Throws<KeyNotFoundException>(() => ServedDrift.Parse("d", JsonDocument.Parse("{}").RootElement).ToList());
        Assert.Throws<KeyNotFoundException>(() => ServedDrift.Parse("d", JsonDocument.Parse("""{"workloads":[{"key":"k","drift":{"model_version":"v1"}}]}""").RootElement).ToList());
        Assert.Null(Assert.Single(ServedDrift.Parse("d", JsonDocument.Parse("""{"workloads":[{"key":"k","drift":{"model_version":"v1","psi":"high"}}]}""").RootElement)).View.Psi);
        Assert.Empty(ServedDrift.Parse("d", JsonDocument.Parse("""{"workloads":[{"key":"k","model":{}}]}""").RootElement));
        Assert.Throws<FormatException>(() => ServedDrift.Parse("d", JsonDocument.Parse("""{"workloads":[{"key":"k","drift":{"model_version":"v1","psi":0.3,"evaluated_at":"yesterday"}}]}""").RootElement).ToList());
    }

    private static string Line(string[] lines, string workload, string version) =>
        lines.Single(l => l.Contains(workload, StringComparison.Ordinal) && l.Contains($" {version} ", StringComparison.Ordinal));

    private static ModelCard Card(string workload, string version) => new()
    {
        Workload = workload,
        Version = version,
        Fingerprint = BehaviourFeatures.Fingerprint,
        FeatureSchema = [.. BehaviourFeatures.Names],
        CreatedAt = At,
        Training = new TrainingInfo(At, At, 0, 0, 0, 0, 0, "test"),
        WindowSeconds = 10,
        TargetAlertsPerDay = 1,
        Thresholds = new() { ["spike:exec"] = 4 },
        Evaluation = [],
    };

    private static async Task<Server> ServeAsync(params WorkloadSnapshot[] snapshots)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/workloads", (string? q, int? limit) => Results.Bytes(WorkloadsEndpoint.Render(snapshots, q, limit, 0, 1), "application/json"));
        await app.StartAsync();
        return new Server(app, SentinelHost.BoundAddress(app)!);
    }

    private sealed record Server(WebApplication App, string Url) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
