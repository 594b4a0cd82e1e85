from screener.ui.rules_page import render

render()
