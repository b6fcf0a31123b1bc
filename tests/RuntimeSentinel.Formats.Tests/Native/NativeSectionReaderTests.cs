using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats.Native;
using static RuntimeSentinel.Formats.Tests.Native.NativeJson;

namespace RuntimeSentinel.Formats.Tests.Native;

public class NativeSectionReaderTests
{
    private readonly NativeSectionReader _sections;

    public NativeSectionReaderTests()
    {
        var values = new NativeValueReader();
        _sections = new NativeSectionReader(values, new NativeLabelReader(values.Strings, EventDecoderOptions.Default), EventDecoderOptions.Default);
    }

    [Fact]
    public void ReadWorkload_EveryField_IsReadWithItsLabels()
    {
        var bytes = U("""{"cluster":"c","namespace":"shop","pod":"p","container":"k","container_id":"id","image":"i","image_digest":"d","owner_kind":"Deployment","owner_name":"cart","labels":{"app":"cart"},"extra":1}""");
        var reader = At(bytes);
        Assert.True(_sections.ReadWorkload(ref reader, bytes, out var w, out _));
        Assert.Equal(new WorkloadRef("c", "shop", "p", "k", "id", "i", "d", "Deployment", "cart", LabelSet.Of(("app", "cart"))), w);
    }

    [Fact]
    public void ReadWorkload_BadLabels_IsRejectedNamingWorkloadLabels()
    {
        var bytes = U("""{"pod":"p","labels":{"n":1}}""");
        var reader = At(bytes);
        Assert.False(_sections.ReadWorkload(ref reader, bytes, out _, out var error));
        Assert.Equal((DecodeErrorCode.WrongType, "workload.labels"), (error.Code, error.Field));
    }

    [Fact]
    public void ReadProcess_NegativePid_IsInvalidNamingProcessPid()
    {
        var reader = At(U("""{"pid":-1}"""));
        Assert.False(_sections.ReadProcess(ref reader, out _, out var error));
        Assert.Equal((DecodeErrorCode.InvalidValue, "process.pid"), (error.Code, error.Field));
    }

    [Fact]
    public void ReadSyscall_NullReturn_IsAbsent()
    {
        var reader = At(U("""{"name":"setuid","ret":null}"""));
        Assert.True(_sections.ReadSyscall(ref reader, out var name, out var ret, out _));
        Assert.Equal(("setuid", (long?)null), (name, ret));
    }

    [Fact]
    public void ReadFile_FlagsOver256Bytes_IsFieldTooLarge()
    {
        var reader = At(U($$"""{"path":"/etc/passwd","flags":"{{new string('O', 257)}}"}"""));
        Assert.False(_sections.ReadFile(ref reader, out _, out _, out var error));
        Assert.Equal((DecodeErrorCode.FieldTooLarge, "file.flags"), (error.Code, error.Field));
    }

    [Fact]
    public void ReadNet_EveryField_IsReadWithDirection()
    {
        var reader = At(U("""{"protocol":"tcp","local_ip":"10.0.0.5","local_port":41000,"remote_ip":"10.0.0.9","remote_port":443,"bytes_in":5,"bytes_out":7,"direction":"outbound"}"""));
        Assert.True(_sections.ReadNet(ref reader, out var net, out _));
        Assert.Equal(new NetInfo("tcp", "10.0.0.5", 41000, "10.0.0.9", 443, 5, 7) { Direction = NetDirection.Outbound }, net);
    }

    [Fact]
    public void ReadDns_MoreThan16Answers_KeepsTheFirst16()
    {
        var answers = string.Join(",", Enumerable.Range(1, 20).Select(i => $"\"10.0.0.{i}\""));
        var reader = At(U($$"""{"name":"api.example.","answers":[{{answers}}]}"""));
        Assert.True(_sections.ReadDns(ref reader, out var name, out var joined, out _));
        Assert.Equal("api.example.", name);
        Assert.Equal(string.Join(',', Enumerable.Range(1, 16).Select(i => $"10.0.0.{i}")), joined);
    }

    [Fact]
    public void ReadDns_AnswerNotAnAddress_IsRejectedNamingDnsAnswers()
    {
        var reader = At(U("""{"answers":["api.example."]}"""));
        Assert.False(_sections.ReadDns(ref reader, out _, out _, out var error));
        Assert.Equal((DecodeErrorCode.InvalidValue, "dns.answers"), (error.Code, error.Field));
    }

    [Theory]
    [InlineData("""{"cpu_cores":-0.5}""", "resource.cpu_cores")]
    [InlineData("""{"cpu_cores":"1"}""", "resource.cpu_cores")]
    [InlineData("""{"memory_bytes":-1}""", "resource.memory_bytes")]
    public void ReadResource_NegativeOrWrongType_IsRejectedNamingTheField(string json, string field)
    {
        var reader = At(U(json));
        Assert.False(NativeSectionReader.ReadResource(ref reader, out _, out var error));
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void ReadResource_Sample_IsRead()
    {
        var reader = At(U("""{"cpu_cores":0.25,"memory_bytes":1048576,"io_read_bytes":1,"io_write_bytes":2}"""));
        Assert.True(NativeSectionReader.ReadResource(ref reader, out var sample, out _));
        Assert.Equal(new ResourceSample(0.25, 1048576, 1, 2), sample);
    }
}
