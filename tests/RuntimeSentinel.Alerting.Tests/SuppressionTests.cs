using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Alerting.Tests;

public class SuppressionTests
{
    [Fact]
    public void Parse_InvalidRules_ListsEveryError()
    {
        var (rules, errors) = SuppressionRules.Parse("""
            {"rules": [
              {"id": "a", "category": "unexpected_dns", "expires": "2099-01-01T00:00:00Z"},
              {"id": "a", "reason": "x", "expires": "soon", "workload": "*"},
              {"reason": "y", "expires": "2099-01-01T00:00:00Z"},
              {"id": "b", "reason": "z", "expires": "2099-01-01T00:00:00Z", "category": "x", "colour": "red"}
            ]}
            """, "rules.json");
        Assert.Empty(rules);
        Assert.Contains(errors, e => e.Contains("rules[0]: 'reason' is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("rules[1]: duplicate id 'a'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("rules[1]: 'expires' must be an RFC 3339", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("rules[2]: 'id' is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("rules[2]: needs at least one matcher", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("rules[3]: unknown field 'colour'", StringComparison.Ordinal));
    }

    [Fact]
    public void Match_ExpiredRule_NoLongerSilences()
    {
        var (rules, errors) = SuppressionRules.Parse("""{"rules":[{"id":"t","category":"unexpected_process","expires":"2026-11-29T13:00:00Z","reason":"r"}]}""", "f");
        Assert.Empty(errors);
        var alert = TestAlerts.Exec("/bin/sh", 1);
        Assert.True(rules[0].Matches(alert, Some.Time));
        Assert.False(rules[0].Matches(alert, Some.Time.AddHours(2)));
    }

    [Fact]
    public void Match_EndpointAndPathGlobs_MatchTheEvidence()
    {
        var (rules, _) = SuppressionRules.Parse("""
            {"rules":[{"id":"ep","endpoint":"10.96.*:5432","expires":"2099-01-01T00:00:00Z","reason":"db"},
                      {"id":"p","path":"/var/cache/*","expires":"2099-01-01T00:00:00Z","reason":"cache"}]}
            """, "f");
        Assert.True(rules[0].Matches(TestAlerts.Make(Some.Connect("10.96.3.4", 5432), "unexpected_network"), Some.Time));
        Assert.False(rules[0].Matches(TestAlerts.Make(Some.Connect("10.96.3.4", 5433), "unexpected_network"), Some.Time));
        Assert.True(rules[1].Matches(TestAlerts.Make(Some.FileOpen("/var/cache/x/y"), "unexpected_file"), Some.Time));
    }

    [Fact]
    public async Task ReloadIfChanged_InvalidEdit_KeepsPreviousRules()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, """{"rules":[{"id":"one","category":"x","expires":"2099-01-01T00:00:00Z","reason":"r"}]}""");
        var s = new SuppressionRules();
        Assert.True(s.ReloadIfChanged(file));
        Assert.Null(s.ReloadIfChanged(file));
        await File.WriteAllTextAsync(file, """{"rules":[{"id":"two"}]}   """);
        Assert.False(s.ReloadIfChanged(file));
        Assert.Equal("one", Assert.Single(s.Rules).Id);
        Assert.NotEmpty(s.LastErrors);
        File.Delete(file);
    }
}
