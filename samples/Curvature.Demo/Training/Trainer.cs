using System.Diagnostics;
using Curvature.Backends;
using Curvature.Demo.Data;
using Curvature.Demo.NeuralNet;
using Curvature.Demo.Optimizers;

namespace Curvature.Demo.Training;

/// <summary>
/// Trains each optimizer on a task from the same initial parameters and the same batch sequence, timing only the
/// optimizer steps, and evaluating on a fixed part of the training set and the whole test set every <see cref="EvaluationInterval"/> steps.
/// </summary>
public sealed class Trainer
{
    private const int EvaluationChunk = 512;

    /// <summary>Training-set examples the training loss is evaluated on (a fixed prefix, so evaluations stay cheap).</summary>
    public const int TrainEvaluationCount = 1024;

    private readonly DemoTask _task;
    private readonly CurvatureBackend _backend;
    private readonly int _steps;
    private readonly int _seed;
    private readonly Network _initial;
    private readonly BatchSchedule _schedule;

    /// <summary>Prepares the shared initial parameters and batch order of <paramref name="task"/>.</summary>
    public Trainer(DemoTask task, CurvatureBackend backend, int steps, int seed)
    {
        _task = task;
        _backend = backend;
        _steps = steps;
        _seed = seed;
        _initial = task.CreateModel(backend, 1).Network;
        _initial.Initialize(new DemoRandom(seed, stream: 303));
        _schedule = new BatchSchedule(task.Train.Count, task.BatchSize, steps, new DemoRandom(seed, stream: 404));
        EvaluationInterval = Math.Max(1, steps / 20);
    }

    /// <summary>Steps between evaluations (about 20 per run).</summary>
    public int EvaluationInterval { get; }

    /// <summary>Runs a couple of untimed steps so that the first timed optimizer does not pay for JIT compilation.</summary>
    public void WarmUp(OptimizerDefinition definition)
    {
        var model = CreateModel();
        var optimizer = definition.Create!(new OptimizerSetup(model, _task.Name, _task.LearningRates.GetValueOrDefault(definition.Key, 1e-3), _steps, _seed));
        var batch = _task.Train.CreateBatch(_task.BatchSize);
        var scratch = _task.Train.CreateBatch(EvaluationChunk);
        for (int step = 0; step < Math.Min(2, _steps); step++)
        {
            _task.Train.Gather(_schedule[step], batch);
            optimizer.Step(model, batch);
        }

        model.Evaluate(_task.Test, scratch);
    }

    /// <summary>Trains a fresh copy of the initial model with <paramref name="definition"/>'s optimizer.</summary>
    public RunResult Run(OptimizerDefinition definition, IRunProgress progress)
    {
        if (!_task.LearningRates.TryGetValue(definition.Key, out double learningRate))
        {
            throw new InvalidOperationException($"The {_task.Name} task has no learning rate for '{definition.Key}'.");
        }

        var model = CreateModel();
        var optimizer = definition.Create!(new OptimizerSetup(model, _task.Name, learningRate, _steps, _seed));
        var batch = _task.Train.CreateBatch(_task.BatchSize);
        var scratch = _task.Train.CreateBatch(EvaluationChunk);
        var curve = new List<CurvePoint>(_steps + 1);
        int? stepsToTarget = null;
        double? secondsToTarget = null;
        bool diverged = false;
        var clock = new Stopwatch();

        CurvePoint Evaluate(int step, double batchLoss)
        {
            var (trainLoss, _) = model.Evaluate(_task.Train, scratch, TrainEvaluationCount);
            var (testLoss, testAccuracy) = model.Evaluate(_task.Test, scratch);
            var point = new CurvePoint(step, clock.Elapsed.TotalSeconds, batchLoss, trainLoss, testLoss, testAccuracy);
            if (stepsToTarget is null && trainLoss <= _task.TargetLoss)
            {
                stepsToTarget = step;
                secondsToTarget = point.Seconds;
            }

            return point;
        }

        progress.Start(_task.Name, optimizer.Name, _steps);
        curve.Add(Evaluate(0, double.NaN));
        int completed = 0;
        for (int step = 1; step <= _steps; step++)
        {
            _task.Train.Gather(_schedule[step - 1], batch);
            clock.Start();
            double loss = optimizer.Step(model, batch);
            clock.Stop();
            completed = step;
            diverged = !double.IsFinite(loss);
            bool evaluate = diverged || step % EvaluationInterval == 0 || step == _steps;
            curve.Add(evaluate ? Evaluate(step, loss) : new CurvePoint(step, clock.Elapsed.TotalSeconds, loss, double.NaN, double.NaN, double.NaN));
            progress.Report(step, loss, clock.Elapsed.TotalSeconds);
            if (diverged)
            {
                break;
            }
        }

        var result = new RunResult
        {
            TaskName = _task.Name,
            OptimizerName = optimizer.Name,
            Settings = optimizer.Settings,
            Curve = curve,
            Steps = completed,
            TrainingSeconds = clock.Elapsed.TotalSeconds,
            Diverged = diverged,
            StepsToTarget = stepsToTarget,
            SecondsToTarget = secondsToTarget,
        };
        progress.Finish(result);
        return result;
    }

    private Model CreateModel()
    {
        var model = _task.CreateModel(_backend, Math.Max(_task.BatchSize, EvaluationChunk));
        model.Network.CopyParametersFrom(_initial);
        return model;
    }
}
