using System.Text.Json.Nodes;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;
using Xunit.Abstractions;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>
/// The model folder is shared and written by people and tools: a broken or crafted version must be refused with a
/// reason, never crash the watcher or read files outside its version folder.
/// </summary>
public sealed class ModelFileFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _temp = new("model-fuzz-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Load_MutatedCardsAndParts_LoadsOrRefusesWithAReasonNeverThrowsAnythingElse()
    {
        var (model, _) = WorkloadModelTests.Trained(seed: 31);
        var original = Path.Combine(_temp.Path, "original");
        model.Save(original);
        var parts = Directory.GetFiles(original).Select(Path.GetFileName).ToList();
        var inputs = new HostileInputs(2026);
        int loaded = 0, refused = 0;
        var escaped = new List<string>();
        const int n = 240;
        for (var i = 0; i < n; i++)
        {
            var dir = Path.Combine(_temp.Path, "v" + i);
            Directory.CreateDirectory(dir);
            foreach (var p in parts)
            {
                File.Copy(Path.Combine(original, p!), Path.Combine(dir, p!));
            }

            var target = parts[i % parts.Count]!;
            var bytes = File.ReadAllBytes(Path.Combine(dir, target));
            var (kind, mutated) = inputs.Mutate(bytes, i / parts.Count, [bytes]);
            File.WriteAllBytes(Path.Combine(dir, target), mutated);
            try
            {
                _ = WorkloadModel.Load(dir);
                loaded++;
            }
            catch (ModelRejectedException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
                refused++;
            }
            catch (Exception ex)
            {
                escaped.Add($"{target} {kind}: {ex.GetType().Name}: {ex.Message}");
            }

            Directory.Delete(dir, recursive: true);
        }

        output.WriteLine($"{n} mutated versions: {loaded} loaded, {refused} refused");
        Assert.True(escaped.Count == 0, string.Join("\n", escaped.Take(10)));
        Assert.Equal(n, loaded + refused);
        Assert.True(refused > n / 4, $"only {refused} refused: the mutations did not reach the loaders");
    }

    [Theory]
    [InlineData("../../../../../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    [InlineData("sub/sequence.bin")]
    [InlineData("")]
    public void Load_CardNamingAFileOutsideItsFolder_IsRefused(string part)
    {
        var (model, _) = WorkloadModelTests.Trained(seed: 32);
        var dir = Path.Combine(_temp.Path, "escape");
        model.Save(dir);
        var card = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, WorkloadModel.CardFile)))!;
        card["files"]!["sequence"] = part;
        File.WriteAllText(Path.Combine(dir, WorkloadModel.CardFile), card.ToJsonString());

        var ex = Assert.Throws<ModelRejectedException>(() => WorkloadModel.Load(dir));
        Assert.Contains("not a file in its version folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Promoted_PromotedFileNamingAPathOutsideTheStore_IsNotFollowed()
    {
        var store = new ModelStore(Path.Combine(_temp.Path, "store"));
        var workloadDir = store.WorkloadPath("prod/shop/Deployment/cart/cart");
        Directory.CreateDirectory(workloadDir);
        File.WriteAllText(Path.Combine(workloadDir, ModelStore.PromotedFile), "../../../../etc\n");
        Assert.Empty(store.Promoted());
        File.WriteAllText(Path.Combine(workloadDir, ModelStore.PromotedFile), "v3\n");
        Assert.Equal("v3", Assert.Single(store.Promoted()).Version);
        Assert.False(ModelStore.IsVersionName(".."));
        Assert.True(ModelStore.IsVersionName("auto-20261201T000000Z"));
    }
}
