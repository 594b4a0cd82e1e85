from screener.ui.sources_page import render

render()
