from web.views import accounts, bank, borrower, manager, office, public

app_name = "web"

urlpatterns = [
    *public.urls,
    *borrower.urls,
    *office.urls,
    *bank.urls,
    *manager.urls,
    *accounts.urls,
]
