using System.Reflection;
using System.Text.RegularExpressions;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Core.Tests;

public class AlertCategoriesTests
{
    private static readonly Regex PrometheusSafe = new("^[a-z_][a-z0-9_]*$", RegexOptions.CultureInvariant);

    [Fact]
    public void All_Names_UniqueAndLowerSnakeCase()
    {
        Assert.Equal(AlertCategories.All.Count, AlertCategories.All.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count());
        Assert.All(AlertCategories.All, c => Assert.Matches(PrometheusSafe, c.Name));
        Assert.All(AlertCategories.All, c => Assert.False(string.IsNullOrWhiteSpace(c.Description), c.Name));
    }

    [Fact]
    public void All_MetricLabels_UniqueAndPrometheusSafe()
    {
        var labels = AlertCategories.All.Select(c => c.MetricLabel).Append(AlertCategories.OtherMetricLabel).ToList();
        Assert.Equal(labels.Count, labels.Distinct(StringComparer.Ordinal).Count());
        Assert.All(labels, l => Assert.Matches(PrometheusSafe, l));
    }

    [Fact]
    public void MetricLabel_CategoryNotInCatalogue_IsOther()
    {
        Assert.Equal("peer_volume", AlertCategories.MetricLabel(AlertCategories.PeerVolume));
        Assert.Equal(AlertCategories.OtherMetricLabel, AlertCategories.MetricLabel("made_up\"} 1\nsentinel_x{"));
    }

    [Fact]
    public void Constants_EveryCategoryName_HasOneEntry()
    {
        // Detectors name categories only through these constants (Sources_OutsideCatalogue_NameNoCategoryByLiteral), so
        // a constant without an entry would be a category raised with no severity, technique or docs row.
        var names = typeof(AlertCategories).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && f.Name != nameof(AlertCategories.OtherMetricLabel))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), AlertCategories.All.Select(c => c.Name).Order(StringComparer.Ordinal));
        Assert.All(names, n => Assert.Same(AlertCategories.Get(n), AlertCategories.Find(n)));
    }

    [Fact]
    public void Get_NameNotInCatalogue_Throws()
    {
        Assert.Null(AlertCategories.Find("no_such_category"));
        Assert.Throws<ArgumentException>(() => AlertCategories.Get("no_such_category"));
    }

    [Fact]
    public void MitreMapping_EveryCategoryWithAnOrdinaryItem_GivesTheCategoryTechnique()
    {
        // An item no finer rule looks at (no shell, miner, credential path, escape call, common port or exfil volume).
        Assert.All(AlertCategories.All, c => Assert.Equal(c.Technique, MitreMapping.For(c.Name, "/opt/app/worker")));
    }

    [Theory]
    [InlineData(AlertCategories.UnexpectedProcess, "/bin/sh", 0, "T1059.004")]
    [InlineData(AlertCategories.UnexpectedProcess, "/tmp/x", 0, "T1105")]
    [InlineData(AlertCategories.UnexpectedLineage, "/usr/bin/xmrig <- /bin/sh", 0, "T1496")]
    [InlineData(AlertCategories.UnexpectedFile, "/etc/shadow", 0, "T1003.008")]
    [InlineData(AlertCategories.UnexpectedNetwork, "10.0.0.9:443/tcp", 0, "T1071")]
    [InlineData(AlertCategories.UnexpectedNetwork, "10.0.0.9:443/tcp", 20 * 1024 * 1024, "T1041")]
    [InlineData(AlertCategories.UnexpectedNetwork, "10.0.0.9:4444/tcp", 0, "T1571")]
    [InlineData(AlertCategories.UnexpectedSyscall, "ptrace", 0, "T1055")]
    [InlineData(AlertCategories.ResourceAnomaly, "cpu", 0, "T1496")]
    [InlineData(AlertCategories.ResourceAnomaly, "memory", 0, null)]
    [InlineData(AlertCategories.RunAnomaly, "run:bytes_out", 0, "T1041")]
    [InlineData(AlertCategories.RunAnomaly, "run:execs", 0, null)]
    [InlineData(AlertCategories.ResourceSpike, "spike:cpu_cores", 0, "T1496")]
    [InlineData(AlertCategories.RateSpike, "spike:bytes_out", 0, "T1041")]
    [InlineData(AlertCategories.ContainerAdded, "ephemeral:debugger", 0, "T1609")]
    public void MitreMapping_ItemWithAFinerRule_OverridesTheCategoryDefault(string category, string observed, long bytesOut, string? technique)
    {
        Assert.Equal(technique, MitreMapping.For(category, observed, bytesOut)?.TechniqueId);
    }

    [Fact]
    public void CategoryTable_DocsAlertsMd_AgreesWithTheCatalogue()
    {
        var problems = CategoryTable.Compare(File.ReadAllText(DocsAlerts), AlertCategories.All);
        Assert.True(problems.Count == 0, "docs/alerts.md, ## Categories:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void CategoryTable_RowRemoved_ReportsTheMissingCategory()
    {
        var docs = File.ReadAllLines(DocsAlerts);
        var without = string.Join("\n", docs.Where(l => !l.StartsWith("| `peer_rate` |", StringComparison.Ordinal)));
        Assert.Equal(["peer_rate: in the catalogue, not in the table"], CategoryTable.Compare(without, AlertCategories.All));
    }

    [Fact]
    public void CategoryTable_SeverityOrTechniqueChanged_ReportsTheDifference()
    {
        var docs = File.ReadAllText(DocsAlerts)
            .Replace("| `container_added` | `resource` (`ephemeral:<container>`) | high | T1609 |", "| `container_added` | `resource` (`ephemeral:<container>`) | medium | T1610 |", StringComparison.Ordinal)
            + "\n";
        Assert.Equal(
            ["container_added: severity medium in the table, high in the catalogue", "container_added: ATT&CK T1610 in the table, T1609 in the catalogue"],
            CategoryTable.Compare(docs, AlertCategories.All));
    }

    [Fact]
    public void CategoryTable_RowNotInCatalogue_ReportsIt()
    {
        var docs = File.ReadAllText(DocsAlerts).Replace("\n| `sensor_alert` |", "\n| `made_up` | x | low | — | y |\n| `sensor_alert` |", StringComparison.Ordinal);
        Assert.Equal(["made_up: in the table, not in the catalogue"], CategoryTable.Compare(docs, AlertCategories.All));
    }

    [Fact]
    public void Sources_OutsideCatalogue_NameNoCategoryByLiteral()
    {
        // Every category is named once, in the catalogue; a second spelling elsewhere could drift from it unseen.
        // EventKindNames spells the event kind sensor_alert (schema v1 events), which is not the category.
        var allowed = new HashSet<(string File, string Name)> { ("src/RuntimeSentinel.Core/Events/EventKindNames.cs", AlertCategories.SensorAlert) };
        var src = Path.Combine(Datasets.RepoRoot, "src");
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Datasets.RepoRoot, file).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal) || relative == "src/RuntimeSentinel.Core/Alerts/AlertCategories.cs")
            {
                continue;
            }

            var text = File.ReadAllText(file);
            found.AddRange(AlertCategories.All
                .Where(c => text.Contains('"' + c.Name + '"', StringComparison.Ordinal) && !allowed.Contains((relative, c.Name)))
                .Select(c => $"{relative}: \"{c.Name}\""));
        }

        Assert.True(found.Count == 0, string.Join("\n", found));
    }

    private static string DocsAlerts => Path.Combine(Datasets.RepoRoot, "docs", "alerts.md");
}
