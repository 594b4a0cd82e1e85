from screener.ui.portfolio_page import render

render()
