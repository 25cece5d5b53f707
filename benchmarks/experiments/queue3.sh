#!/bin/bash
# exploration batch 3 (bank, 3-fold): TabM-mini sizes
cd /work/main
H="/work/venv/bin/python benchmarks/experiments/harness.py --data bank --folds 3"
$H --label K4_tabmmini8_64-32_b256 --recipe '{"enc":{"int_cat":5},"members":8,"tabm":"sign","mhidden":[64,32],"lr":0.01,"batch":256,"epochs":60,"monitor":"ens_auc","patience":6}' 2>&1 | tail -1
$H --label K5_tabmmini16_32-16_b256 --recipe '{"enc":{"int_cat":5},"members":16,"tabm":"sign","mhidden":[32,16],"lr":0.01,"batch":256,"epochs":60,"monitor":"ens_auc","patience":6}' 2>&1 | tail -1
$H --label K6_tabmmini16_64-32_b512_lr2e-2 --recipe '{"enc":{"int_cat":5},"members":16,"tabm":"sign","mhidden":[64,32],"lr":0.02,"batch":512,"epochs":80,"monitor":"ens_auc","patience":8}' 2>&1 | tail -1
