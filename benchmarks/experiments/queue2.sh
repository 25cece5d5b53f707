#!/bin/bash
# exploration batch 2 (bank, 3-fold): packed ensembles
cd /work/main
H="/work/venv/bin/python benchmarks/experiments/harness.py --data bank --folds 3"
$H --label G1_ens8_128-64_drop0.1 --recipe '{"enc":{"int_cat":5},"members":8,"mhidden":[128,64],"dropout":0.1,"lr":0.003,"batch":64,"epochs":60,"monitor":"ens_auc","patience":6}' 2>&1 | tail -1
$H --label G2_ens8_lr2e-3_p8 --recipe '{"enc":{"int_cat":5},"members":8,"mhidden":[64,32],"lr":0.002,"batch":64,"epochs":60,"monitor":"ens_auc","patience":8}' 2>&1 | tail -1
$H --label G3_ens8_robustclip --recipe '{"enc":{"int_cat":5,"scale":"robust_clip"},"members":8,"mhidden":[64,32],"lr":0.003,"batch":64,"epochs":60,"monitor":"ens_auc","patience":6}' 2>&1 | tail -1
$H --label G4_ens32_32-16_b128 --recipe '{"enc":{"int_cat":5},"members":32,"mhidden":[32,16],"lr":0.005,"batch":128,"epochs":60,"monitor":"ens_auc","patience":6}' 2>&1 | tail -1
$H --label G5_ens8_adamw_cos --recipe '{"enc":{"int_cat":5},"members":8,"mhidden":[64,32],"opt":"adamw","wd":0.01,"cosine":true,"lr":0.003,"batch":64,"epochs":30,"monitor":"ens_auc","patience":30}' 2>&1 | tail -1
