using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeSentinel.Core.Alerts;
using RuntimeSentinel.TestCommon.Siem;

namespace RuntimeSentinel.Alerting.Tests.Siem;

/// <summary>The ECS rendering, and the field check against <c>@elastic/ecs</c> refusing what is not ECS.</summary>
public class EcsDocumentTests
{
    private static async Task<EcsValidator> ValidatorAsync() => new(await SharedSchemas.RequireEcsAsync(), "runtime_sentinel");

    private static JsonObject Render(Incident i) => JsonNode.Parse(IncidentSchemas.ToUtf8(i, IncidentSchema.Ecs, "https://runbooks.example/{category}"))!.AsObject();

    private static SchemaReport Check(EcsValidator v, JsonNode doc)
    {
        using var parsed = JsonDocument.Parse(doc.ToJsonString());
        return v.Validate(parsed.RootElement);
    }

    private static void AssertRefused(EcsValidator v, JsonNode doc, string expected)
    {
        var report = Check(v, doc);
        Assert.False(report.Valid, "the broken document was accepted");
        Assert.Contains(report.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Render_ShellTree_IsAnEcsAlertOfItsProcessThreatAndContainer()
    {
        var v = await ValidatorAsync();
        var incident = SiemIncidents.ShellTree();
        var doc = Render(incident);
        Assert.True(Check(v, doc).Valid, Check(v, doc).ToString());
        Assert.Equal("alert", (string?)doc["event"]!["kind"]);
        // The primary's category first, then the incident's others (sorted): each ECS category and type once.
        Assert.Equal(["process", "network", "file"], doc["event"]!["category"]!.AsArray().Select(c => (string?)c));
        Assert.Equal(["start", "info", "protocol", "access", "connection"], doc["event"]!["type"]!.AsArray().Select(c => (string?)c));
        Assert.Equal(4, (int)doc["event"]!["severity"]!);
        Assert.Equal("/bin/sh", (string?)doc["process"]!["executable"]);
        Assert.Equal(1000, (int)doc["process"]!["parent"]!["pid"]!);
        Assert.Equal("/usr/sbin/nginx", (string?)doc["process"]!["parent"]!["executable"]);
        Assert.Equal("/etc/shadow", (string?)doc["file"]!["path"]);
        Assert.Equal("203.0.113.66", (string?)doc["destination"]!["ip"]);
        Assert.Equal("egress", (string?)doc["network"]!["direction"]);
        Assert.Equal("pool.minexmr.example", (string?)doc["dns"]!["question"]!["name"]);
        Assert.Equal(["198.51.100.7"], doc["dns"]!["resolved_ip"]!.AsArray().Select(x => (string?)x)); // not-an-ip dropped
        Assert.Equal(["T1059", "T1003", "T1571", "T1496"], doc["threat"]!["technique"]!["id"]!.AsArray().Select(x => (string?)x));
        Assert.Equal(["TA0002", "TA0006", "TA0011", "TA0040"], doc["threat"]!["tactic"]!["id"]!.AsArray().Select(x => (string?)x));
        Assert.Equal(["T1059.004", "T1003.008"], doc["threat"]!["technique"]!["subtechnique"]!["id"]!.AsArray().Select(x => (string?)x));
        Assert.Equal("ghcr.io/acme/cart", (string?)doc["container"]!["image"]!["name"]);
        Assert.Equal("1.4", (string?)doc["container"]!["image"]!["tag"]![0]);
        Assert.Equal("cart-7d9f8b6c5b-x2k4p", (string?)doc["orchestrator"]!["resource"]!["name"]);
        Assert.Equal("https://runbooks.example/unexpected_lineage", (string?)doc["rule"]!["reference"]);
        Assert.Equal(incident.Id, (string?)doc["runtime_sentinel"]!["incident"]!["id"]);
        Assert.Equal(5, doc["runtime_sentinel"]!["alerts"]!.AsArray().Count);
    }

    [SkippableFact]
    public async Task Render_HostileEvidence_StaysEcs()
    {
        var v = await ValidatorAsync();
        var doc = Render(SiemIncidents.Hostile());
        Assert.True(Check(v, doc).Valid, Check(v, doc).ToString());
        Assert.Null(doc["destination"]); // 999.1.1.1 is no address
    }

    [SkippableFact]
    public async Task Validate_UnknownEcsLookingField_Refused()
    {
        var v = await ValidatorAsync();
        var doc = Render(SiemIncidents.ShellTree());
        doc["process"]!["colour"] = "red";
        AssertRefused(v, doc, "process.colour: not an ECS 9.4.0 field");

        doc = Render(SiemIncidents.ShellTree());
        doc["sentinel"] = new JsonObject { ["score"] = 1 };
        AssertRefused(v, doc, "sentinel.score: not an ECS");

        // Anything goes under the custom namespace.
        doc = Render(SiemIncidents.ShellTree());
        doc["runtime_sentinel"]!["anything"] = new JsonObject { ["at"] = new JsonArray(1, "all") };
        Assert.True(Check(v, doc).Valid, Check(v, doc).ToString());
    }

    [SkippableTheory]
    [InlineData("process", "pid", "\"4242\"", "process.pid: \"4242\" is not an ECS long")]
    [InlineData("destination", "ip", "\"not-an-ip\"", "destination.ip: \"not-an-ip\" is not an ECS ip")]
    [InlineData("event", "start", "\"yesterday\"", "event.start: \"yesterday\" is not an ECS date")]
    [InlineData("event", "category", "\"process\"", "event.category: ECS normalises this field to an array")]
    [InlineData("host", "name", "[\"a\", \"b\"]", "host.name: an array, but ECS defines a single keyword")]
    [InlineData("event", "kind", "\"alarm\"", "event.kind: 'alarm' is not one of ECS's values")]
    [InlineData("event", "type", "[\"installation\"]", "event.type: 'installation' is not a type that event.category")]
    public async Task Validate_WrongTypeOrValue_Refused(string set, string field, string json, string expected)
    {
        var v = await ValidatorAsync();
        var doc = Render(SiemIncidents.ShellTree());
        doc[set]![field] = JsonNode.Parse(json);
        AssertRefused(v, doc, expected);
    }

    [SkippableFact]
    public async Task Validate_RequiredFieldMissing_Refused()
    {
        var v = await ValidatorAsync();
        var doc = Render(SiemIncidents.ShellTree());
        doc.Remove("ecs");
        AssertRefused(v, doc, "ecs.version: required by ECS, missing");
    }
}
