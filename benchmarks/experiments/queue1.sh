#!/bin/bash
# exploration batch 1 (bank, 3-fold)
cd /work/main
H="/work/venv/bin/python benchmarks/experiments/harness.py --data bank --folds 3"
E='"enc":{"scale":"robust_clip","ple_bins":16,"int_cat":12}'
$H --label E1_realmlp256 --recipe "{$E,\"hidden\":[256,256],\"dropout\":0.15,\"opt\":\"adamw\",\"lr\":0.002,\"wd\":0.01,\"batch\":256,\"epochs\":30,\"cosine\":true,\"monitor\":\"val_auc\",\"patience\":30}" 2>&1 | tail -1
$H --label E2_std_b128_cos --recipe '{"hidden":[64,32],"lr":0.003,"batch":128,"epochs":40,"cosine":true,"monitor":"val_auc","patience":8}' 2>&1 | tail -1
$H --label E3_tabm32 --recipe "{$E,\"hidden\":[256],\"k\":32,\"head\":16,\"opt\":\"adamw\",\"lr\":0.002,\"wd\":0.01,\"batch\":256,\"epochs\":30,\"cosine\":true,\"monitor\":\"val_auc\",\"patience\":30}" 2>&1 | tail -1
$H --label E4_tut3e-3_x3seeds --seeds 3 --recipe '{"hidden":[64,32],"lr":0.003,"batch":32,"patience":5,"epochs":100}' 2>&1 | tail -1
$H --label E5_ple_small_b64 --recipe "{$E,\"hidden\":[64,32],\"lr\":0.003,\"batch\":64,\"epochs\":60,\"monitor\":\"val_auc\",\"patience\":8}" 2>&1 | tail -1
$H --label E6_ple_l2 --recipe "{$E,\"hidden\":[128,64],\"l2\":0.001,\"opt\":\"adamw\",\"lr\":0.003,\"wd\":0.0,\"batch\":128,\"epochs\":40,\"cosine\":true,\"monitor\":\"val_auc\",\"patience\":40}" 2>&1 | tail -1
