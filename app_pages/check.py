from screener.ui.check_page import render

render()
