using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>What detection raises stays inside the category catalogue, with the catalogue's defaults.</summary>
public class AlertCategoryCoverageTests
{
    private static readonly WorkloadKey Key = new("c", "shop", "Deployment", "api", "main");
    private static readonly BaselineState State = new(BaselinePhase.Active, TimeSpan.FromHours(1), 1000, null);

    public static TheoryData<string, Severity> OrdinaryItems => new()
    {
        { AlertCategories.UnexpectedProcess, SeverityPolicy.ForExec("/usr/local/bin/worker", "/usr/local/bin/app").Severity },
        { AlertCategories.UnexpectedLineage, SeverityPolicy.ForLineage("/usr/local/bin/worker", "/usr/local/bin/app").Severity },
        { AlertCategories.UnexpectedSyscall, SeverityPolicy.ForSyscall("read").Severity },
        { AlertCategories.UnexpectedFile, SeverityPolicy.ForFile("/srv/data/report.csv", "O_RDONLY").Severity },
        { AlertCategories.UnexpectedNetwork, SeverityPolicy.ForEndpoint("10.0.0.9").Severity },
        { AlertCategories.UnexpectedDns, SeverityPolicy.ForDns("api.internal.example").Severity },
        { AlertCategories.SensorAlert, SeverityPolicy.ForSensorRule("falco", null).Severity },
    };

    [Theory]
    [MemberData(nameof(OrdinaryItems))]
    public void SeverityPolicy_OrdinaryItem_RaisedAtTheCategoryDefault(string category, Severity severity)
    {
        Assert.Equal(AlertCategories.Get(category).DefaultSeverity, severity);
    }

    [Theory]
    [MemberData(nameof(SuspiciousCatalogueTests.Cases), MemberType = typeof(SuspiciousCatalogueTests))]
    public void SuspiciousCatalogue_EveryMatch_NamesACatalogueCategory(string what, RuntimeEvent e, string? expected)
    {
        var path = e.FilePath is { } p ? PathNormalizer.Normalize(p) : null;
        if (SuspiciousCatalogue.TryMatch(e, path, out var m))
        {
            Assert.True(AlertCategories.Find(m.Category) is not null, $"{what} ({expected}): {m.Category}");
        }
    }

    [Fact]
    public void Create_FindingOfEveryCategory_CarriesTheNameAndTheCategoryTechnique()
    {
        var e = Some.Exec("/opt/app/worker", "/opt/app/server");
        Assert.All(AlertCategories.All, c =>
        {
            var finding = Finding.OfItem(Feature.Resource, new FeatureKey("/opt/app/worker"), c.Name, c.DefaultSeverity, 2, 1, 0, 10, "r");
            var alert = AlertFactory.Create(Key, e, finding, State, Some.Time);
            Assert.Equal((c.Name, c.DefaultSeverity, c.Technique), (alert.Category, alert.Severity, alert.Mitre));
        });
    }

    [Theory]
    [InlineData(AlertCategories.BehaviourAnomaly)]
    [InlineData(AlertCategories.RateSpike)]
    [InlineData(AlertCategories.ResourceSpike)]
    [InlineData(AlertCategories.SyscallSequenceAnomaly)]
    public void Create_ModelFindingOfAModelCategory_CarriesTheNameAndTheCategoryTechnique(string category)
    {
        var e = Some.Exec("/opt/app/worker", "/opt/app/server");
        var finding = Finding.OfModel("d", category, Severity.Medium, 2, 1, [new DetectorScore("d", 2, 1)], [], "r", "d");
        var alert = AlertFactory.Create(Key, e, finding, State, Some.Time);
        Assert.Equal((category, AlertCategories.Get(category).Technique), (alert.Category, alert.Mitre));
    }
}
