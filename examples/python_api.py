"""The Python API: one training and one serving estimate, with the assumptions they rest on.

    python examples/python_api.py
"""

from flopwatt import api

train = api.train(api.TrainRequest(model="Llama 3.1 70B", accelerator="h100-sxm5-80gb", devices=1024,
                                   global_batch=1024, seq_len=8192, tokens="15T", site="fi-hamina",
                                   cooling="direct-liquid", advise=False))
print(f"train: {train.metrics['mfu']:.1%} MFU, {train.footprint['reliability/expected_wall_s'] / 86400:.1f} days, "
      f"{train.footprint['energy/facility_j'] / 3.6e9:,.0f} MWh, plan tp={train.plan['tp']} pp={train.plan['pp']}")

serve = api.serve(api.ServeRequest(model="meta-llama/Llama-3.1-8B", accelerator="h200-sxm-141gb", devices=8,
                                   input_len=1024, output_len=256, tpot_slo_s=0.03))
print(f"serve: {serve.metrics['output_tokens_per_s']:,.0f} output tokens/s, "
      f"{serve.metrics['joules_per_output_token']:.3f} J/token at the facility")
for line in serve.assumptions:
    print("  assumption:", line)
