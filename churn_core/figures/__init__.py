"""Plotly figure builders. They draw precomputed arrays only: they never fit or predict.

May import: every stage (for result types) but never calls training or prediction.

Figures set no template: they take Plotly's default one, which in the app is Streamlit's own
(``st.plotly_chart`` registers it as the default and themes it in the browser to match the
app). Setting ``template="plotly_white"`` on every figure validated and copied the template
each time: 10-12 of the 15 ms of building a ROC curve, and a threshold move on Performance
builds five figures.
"""
