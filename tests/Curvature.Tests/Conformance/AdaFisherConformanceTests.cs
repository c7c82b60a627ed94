using System.Text.Json.Nodes;
using Curvature.Backends.Managed;
using Curvature.Conformance;
using Curvature.Layers;
using Curvature.Tests.Optimizers;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Conformance;

public class AdaFisherConformanceTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void ReferenceReplays_AllPass(string backendName)
    {
        var backend = TestBackends.Get(backendName);
        var folder = Path.Combine(AppContext.BaseDirectory, "data", "reference");
        var output = new StringWriter();
        var (passed, failed) = ConformanceRunner.Run(folder, backend, "adafisher", output);
        Assert.True(failed == 0, output.ToString());
        Assert.True(passed >= 2, output.ToString());
    }

    /// <summary>
    /// A replay file in the FORMAT.md section 5 layout, written from <see cref="OfficialOracle"/> for a model the public
    /// cases do not cover (Conv2d with stride, padding and dilation; a Linear on sequence inputs; a parameter outside any
    /// layer; TCov = 2), goes through the runner's <c>adafisher</c> part; a perturbed copy must fail.
    /// </summary>
    [Fact]
    public void SyntheticReplayFile_ConvSequenceTCov2_PassesAndPerturbedCopyFails()
    {
        var rng = new Random(21);
        var conv = new OfficialOracle.Layer { Name = "0", Kind = "conv2d", Cin = 2, Out = 3, Kh = 2, Kw = 3, Sh = 2, Sw = 1, Ph = 1, Pw = 0, Bias = true };
        var seq = new OfficialOracle.Layer { Name = "3", Kind = "linear", In = 4, Out = 2, Bias = false };
        var geometry = new Conv2dGeometry(2, 3, 2, 3, 2, 1, 1, 0, 1, 2);
        int[] convIn = [2, 2, 5, 5];
        int[] convOut = [2, 3, geometry.OutputHeight(5), geometry.OutputWidth(5)];
        int[] seqIn = [2, 3, 4];
        int[] seqOut = [2, 3, 2];

        var oracle = new OfficialOracle(1e-3, 0.9, 1e-3, 0.8, 2, 1e-2, decoupled: true);
        oracle.Layers.Add(conv);
        oracle.Layers.Add(seq);
        oracle.Params["0.weight"] = AdaFisherTestModels.Random(rng, 3 * 2 * 2 * 3, 0.5);
        oracle.Params["0.bias"] = AdaFisherTestModels.Random(rng, 3, 0.5);
        oracle.Params["3.weight"] = AdaFisherTestModels.Random(rng, 2 * 4, 0.5);
        oracle.Params["scale"] = AdaFisherTestModels.Random(rng, 2, 0.5);
        var shapes = new Dictionary<string, int[]> { ["0.weight"] = [3, 2, 2, 3], ["0.bias"] = [3], ["3.weight"] = [2, 4], ["scale"] = [2] };

        JsonObject T(int[] shape, double[] data) => new() { ["shape"] = new JsonArray([.. shape.Select(x => (JsonNode)x)]), ["data"] = new JsonArray([.. data.Select(x => (JsonNode)x)]) };
        JsonArray List(Dictionary<string, double[]> values) => new([.. values.Select(kv => (JsonNode)new JsonObject { ["name"] = kv.Key, ["tensor"] = T(shapes[kv.Key], kv.Value) })]);
        Dictionary<string, double[]> Copy(Dictionary<string, double[]> d) => d.ToDictionary(kv => kv.Key, kv => (double[])kv.Value.Clone());

        var root = new JsonObject
        {
            ["format_version"] = 1,
            ["name"] = "synthetic_conv_seq_tcov2",
            ["kind"] = "adafisher_replay",
            ["optimizer"] = "AdaFisherW",
            ["hyperparameters"] = new JsonObject { ["lr"] = 1e-3, ["beta"] = 0.9, ["Lambda"] = 1e-3, ["gamma"] = 0.8, ["TCov"] = 2, ["weight_decay"] = 1e-2 },
            ["model"] = new JsonObject
            {
                ["layers"] = new JsonArray(
                    new JsonObject
                    {
                        ["name"] = "0", ["kind"] = "conv2d", ["weight_shape"] = new JsonArray(3, 2, 2, 3), ["bias"] = true,
                        ["in_channels"] = 2, ["out_channels"] = 3, ["kernel_size"] = new JsonArray(2, 3), ["stride"] = new JsonArray(2, 1),
                        ["padding"] = new JsonArray(1, 0), ["dilation"] = new JsonArray(1, 2), ["groups"] = 1,
                    },
                    new JsonObject { ["name"] = "3", ["kind"] = "linear", ["weight_shape"] = new JsonArray(2, 4), ["bias"] = false, ["in_features"] = 4, ["out_features"] = 2 }),
            },
            ["module_order"] = new JsonArray("0", "3"),
            ["param_order"] = new JsonArray("0.weight", "0.bias", "3.weight", "scale"),
            ["initial_params"] = List(oracle.Params),
        };

        var steps = new JsonArray();
        for (int t = 0; t < 5; t++)
        {
            var step = new JsonObject { ["t"] = t, ["optimizer_steps_before"] = t, ["factors_updated"] = oracle.Refresh, ["params_before"] = List(Copy(oracle.Params)) };
            var grads = oracle.Params.ToDictionary(kv => kv.Key, kv => AdaFisherTestModels.Random(rng, kv.Value.Length, 0.05));
            step["grads"] = List(grads);
            var layers = new JsonObject();
            foreach (var (layer, inShape, outShape) in new[] { (conv, convIn, convOut), (seq, seqIn, seqOut) })
            {
                var a = AdaFisherTestModels.Random(rng, AdaFisherTestModels.Product(inShape), 1);
                var g = AdaFisherTestModels.Random(rng, AdaFisherTestModels.Product(outShape), 0.01);
                if (oracle.Refresh)
                {
                    oracle.Observe(layer.Name, a, inShape, g);
                }

                layers[layer.Name] = new JsonObject { ["a"] = T(inShape, a), ["g"] = T(outShape, g) };
            }

            oracle.Step(grads);
            foreach (var layer in new[] { conv, seq })
            {
                var entry = (JsonObject)layers[layer.Name]!;
                entry["H_D"] = T([layer.H.Length], layer.H);
                entry["S_D"] = T([layer.S.Length], layer.S);
            }

            step["layers"] = layers;
            step["exp_avg_after"] = List(Copy(oracle.ExpAvg));
            step["params_after"] = List(Copy(oracle.Params));
            steps.Add(step);
        }

        root["steps"] = steps;

        var folder = Directory.CreateTempSubdirectory("adafisher-replay-");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "case.json"), root.ToJsonString());
            var output = new StringWriter();
            var (passed, failed) = ConformanceRunner.Run(folder.FullName, new ManagedBackend(), "adafisher", output);
            Assert.True(passed == 1 && failed == 0, output.ToString());

            // Negative control: one parameter value of the last step moved by 1e-9.
            var last = root["steps"]![4]!["params_after"]![0]!["tensor"]!["data"]!.AsArray();
            last[0] = last[0]!.GetValue<double>() + 1e-9;
            File.WriteAllText(Path.Combine(folder.FullName, "case.json"), root.ToJsonString());
            output = new StringWriter();
            (passed, failed) = ConformanceRunner.Run(folder.FullName, new ManagedBackend(), "adafisher", output);
            Assert.True(passed == 0 && failed == 1, output.ToString());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
