using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Curvature.TorchSharp.Tests;

public class ExploreTests
{
    [Fact]
    public void Explore()
    {
        var log = new List<string>();
        var inner = nn.Sequential(("a", nn.Linear(3, 4)), ("r", nn.ReLU()));
        var model = nn.Sequential(("0", nn.Linear(5, 3)), ("blk", inner), ("2", nn.Linear(4, 2)));
        foreach (var (name, m) in model.named_modules()) log.Add($"mod '{name}' {m.GetType().Name} {m.GetName()}");
        foreach (var (name, p) in model.named_parameters()) log.Add($"par '{name}' [{string.Join(",", p.shape)}]");
        var outs = new Dictionary<string, Tensor>();
        var ins = new Dictionary<string, Tensor>();
        foreach (var (name, m) in model.named_modules())
        {
            if (m is Linear lin)
            {
                string n = name;
                lin.register_forward_hook((mod, input, output) => { log.Add($"hook {n}"); outs[n] = output.alias(); ins[n] = input.alias(); return output; });
            }
        }
        var x = randn(6, 5);
        var y = model.call(x);
        var loss = y.square().sum();
        var names = outs.Keys.ToList();
        var gs = torch.autograd.grad([loss], names.Select(n => outs[n]).ToList(), retain_graph: true);
        for (int i = 0; i < names.Count; i++) log.Add($"g {names[i]} [{string.Join(",", gs[i].shape)}] in valid {!ins[names[i]].IsInvalid}");
        loss.backward();
        var w = ((Linear)model.named_modules().First(t => t.name == "2").module).weight!;
        var gw = gs[names.IndexOf("2")].t().matmul(ins["2"]);
        log.Add($"maxdiff {(gw - w.grad!).abs().max().item<float>()}");
        log.Add($"dtype default {x.dtype}");
        File.WriteAllLines("/tmp/explore.txt", log);
    }
}
